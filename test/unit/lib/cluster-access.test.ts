import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import {
  ClusterAccess,
  KUBERNETES_GROUPS,
  kubernetesInstallCommands,
  type KubernetesRole,
} from '../../../lib/cluster-access.js';
import { repoRoot } from '../../../services/kubectl.js';
import { aFunction, onBareStack, synthStack } from './stack-fixture.js';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string }>;
  spec?: { matchConditions?: Array<{ expression: string }> };
}

function manifests(folder: string): Manifest[] {
  const dir = join(repoRoot, 'deploy', folder);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .flatMap((file) => loadAllYaml(readFileSync(join(dir, file), 'utf8')) as Manifest[]);
}

/** Group -> the roles bound to it by the bindings among `docs`, as `Kind/name`. */
function boundRoles(docs: Manifest[]): Record<string, string[]> {
  const bound: Record<string, string[]> = {};
  for (const doc of docs.filter((d) => d.kind.endsWith('Binding') && d.roleRef)) {
    for (const subject of doc.subjects ?? []) {
      expect(subject.kind).toBe('Group');
      (bound[subject.name] ??= []).push(`${doc.roleRef!.kind}/${doc.roleRef!.name}`);
    }
  }
  return bound;
}

describe('ClusterAccess and deploy/rbac', () => {
  const { stack, template } = onBareStack((stack) => {
    const functions = {
      reconcile: [aFunction(stack, 'Scheduled'), aFunction(stack, 'PerModel')],
      warmUp: [aFunction(stack, 'WarmUp')],
      remediation: [aFunction(stack, 'Remediation')],
      webhook: [aFunction(stack, 'Webhook')],
    };
    return new ClusterAccess(stack, 'ClusterAccess', { clusterName: 'gpu-inference', functions });
  });
  const roleOf = (id: string) =>
    stack.getLogicalId(
      (stack.node.findChild(id) as LambdaFunction).role!.node.defaultChild as Parameters<
        typeof stack.getLogicalId
      >[0],
    );
  const byRole: Record<KubernetesRole, string[]> = {
    reconcile: ['Scheduled', 'PerModel'].map(roleOf),
    warmUp: [roleOf('WarmUp')],
    remediation: [roleOf('Remediation')],
    webhook: [roleOf('Webhook')],
  };

  it("maps each Kubernetes-calling function's role to its own role's group, with no access policy", () => {
    const entries = Object.values(template.findResources('AWS::EKS::AccessEntry')).map((e) => e.Properties);
    const expected = (Object.keys(byRole) as KubernetesRole[]).flatMap((role) =>
      byRole[role].map((roleId) => ({
        ClusterName: 'gpu-inference',
        PrincipalArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
        Type: 'STANDARD',
        KubernetesGroups: [KUBERNETES_GROUPS[role]],
      })),
    );
    expect(entries).toEqual(expected);
  });

  it('binds each group cluster-wide to its own ClusterRole, and nodes only for the node scalers', () => {
    expect(boundRoles(manifests('rbac/cluster'))).toEqual({
      [KUBERNETES_GROUPS.reconcile]: ['ClusterRole/inference-budget-reconcile'],
      [KUBERNETES_GROUPS.warmUp]: ['ClusterRole/inference-budget-warm-up'],
      [KUBERNETES_GROUPS.remediation]: ['ClusterRole/inference-budget-remediation'],
      [KUBERNETES_GROUPS.webhook]: ['ClusterRole/inference-budget-webhook'],
    });
    expect(boundRoles(manifests('rbac/nodes'))).toEqual({
      [KUBERNETES_GROUPS.reconcile]: ['ClusterRole/inference-budget-reconcile-nodes'],
      [KUBERNETES_GROUPS.warmUp]: ['ClusterRole/inference-budget-warm-up-nodes'],
    });
    for (const role of manifests('rbac/nodes').filter((d) => d.kind === 'ClusterRole')) {
      expect(role.rules).toEqual([
        expect.objectContaining({ apiGroups: [''], resources: ['nodes'], verbs: expect.any(Array) }),
      ]);
    }
  });

  it('grants the same rules in namespaced mode as Roles, bound by RoleBindings without a namespace of their own', () => {
    const cluster = manifests('rbac/cluster');
    const namespaced = manifests('rbac/namespace');
    expect(boundRoles(namespaced)).toEqual({
      [KUBERNETES_GROUPS.reconcile]: ['Role/inference-budget-reconcile'],
      [KUBERNETES_GROUPS.warmUp]: ['Role/inference-budget-warm-up'],
      [KUBERNETES_GROUPS.remediation]: ['Role/inference-budget-remediation'],
      [KUBERNETES_GROUPS.webhook]: ['Role/inference-budget-webhook'],
    });
    for (const role of namespaced.filter((d) => d.kind === 'Role')) {
      expect(role.metadata.namespace).toBeUndefined();
      const twin = cluster.find((d) => d.kind === 'ClusterRole' && d.metadata.name === role.metadata.name);
      expect(role.rules).toEqual(twin?.rules);
    }
    expect(namespaced.every((d) => d.kind === 'Role' || d.kind === 'RoleBinding')).toBe(true);
  });

  it("limits the admission policy to exactly the control plane's groups", () => {
    const [policy] = manifests('admission-policy').filter((d) => d.kind === 'ValidatingAdmissionPolicy');
    const condition = policy!.spec!.matchConditions![0]!.expression;
    const listed = [...condition.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.values(KUBERNETES_GROUPS).sort());
  });
});

describe('ClusterAccess in the control-plane stack', () => {
  it("gives every function that calls Kubernetes an entry in its own role's group", () => {
    const { stack, template } = synthStack();
    const { functions } = stack;
    const roleIdOf = (fn: LambdaFunction) =>
      stack.getLogicalId(fn.role!.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
    const byRole: Record<KubernetesRole, LambdaFunction[]> = {
      reconcile: [functions.reconcileScheduled, functions.reconcileModel],
      warmUp: [functions.warmUpApi],
      remediation: [functions.remediation],
      webhook: [functions.admissionWebhook],
    };
    const groupOf = new Map(
      Object.values(template.findResources('AWS::EKS::AccessEntry')).map((e) => [
        (e.Properties.PrincipalArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0],
        e.Properties.KubernetesGroups as string[],
      ]),
    );
    for (const role of Object.keys(byRole) as KubernetesRole[]) {
      for (const fn of byRole[role]) expect(groupOf.get(roleIdOf(fn))).toEqual([KUBERNETES_GROUPS[role]]);
    }
    expect(new Set(functions.kubernetesClients.map(roleIdOf))).toEqual(new Set(groupOf.keys()));
  });
});

describe('kubernetesInstallCommands', () => {
  it('installs cluster-wide RBAC without namespaces, else the namespaced base and Roles in each namespace', () => {
    expect(kubernetesInstallCommands([])).toEqual(['kubectl apply -k deploy/']);
    expect(kubernetesInstallCommands(['team-a', 'team-b'])).toEqual([
      'kubectl apply -k deploy/namespaced/',
      'kubectl apply -n team-a -k deploy/rbac/namespace/',
      'kubectl apply -n team-b -k deploy/rbac/namespace/',
    ]);
  });

  it('is the stack output KubernetesInstall', () => {
    const { template } = synthStack({ namespaces: ['team-a'] });
    template.hasOutput('KubernetesInstall', {
      Value: 'kubectl apply -k deploy/namespaced/ && kubectl apply -n team-a -k deploy/rbac/namespace/',
    });
  });
});
