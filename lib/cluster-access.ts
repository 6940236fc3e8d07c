import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The Kubernetes group `deploy/rbac/cluster-role-binding.yaml` binds to the control plane's ClusterRole. */
export const KUBERNETES_GROUP = 'inference-budget-control-plane';

export interface ClusterAccessProps {
  clusterName: string;
  /** The functions whose roles call the Kubernetes API. */
  functions: IFunction[];
}

/**
 * EKS access entries giving each Kubernetes-calling function's role the identity the RBAC in `deploy/`
 * binds, and nothing more (no access policy: RBAC alone decides). The cluster's authentication mode
 * must be `API` or `API_AND_CONFIG_MAP`.
 */
export class ClusterAccess extends Construct {
  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);
    for (const fn of props.functions) {
      new CfnAccessEntry(this, fn.node.id, {
        clusterName: props.clusterName,
        principalArn: fn.role!.roleArn,
        type: 'STANDARD',
        kubernetesGroups: [KUBERNETES_GROUP],
      });
    }
  }
}
