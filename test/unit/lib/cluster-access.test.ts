import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KUBERNETES_GROUP } from '../../../lib/cluster-access.js';
import { repoRoot } from '../../support/kubectl.js';
import { synthStack } from './stack-fixture.js';

describe('ClusterAccess', () => {
  const { stack, template } = synthStack();

  it('maps each Kubernetes-calling role to the group deploy/rbac binds, with no access policy', () => {
    const binding = readFileSync(join(repoRoot, 'deploy', 'rbac', 'cluster-role-binding.yaml'), 'utf8');
    expect(binding).toMatch(new RegExp(`kind: Group\\s+name: ${KUBERNETES_GROUP}\\b`));
    const entries = Object.values(template.findResources('AWS::EKS::AccessEntry')).map((e) => e.Properties);
    const roleIds = stack.functions.kubernetesClients.map((fn) =>
      stack.getLogicalId(fn.role!.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]),
    );
    expect(entries).toEqual(
      roleIds.map((roleId) => ({
        ClusterName: 'gpu-inference',
        PrincipalArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
        Type: 'STANDARD',
        KubernetesGroups: [KUBERNETES_GROUP],
      })),
    );
  });
});
