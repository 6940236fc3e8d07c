import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * The Kubernetes group of each Kubernetes-calling role, which `deploy/rbac/` binds to exactly the verbs
 * that role's code sends (docs/crd.md).
 */
export const KUBERNETES_GROUPS = {
  /** The scheduled pass and the per-model reconcile, node scaler included. */
  reconcile: 'inference-budget-reconcile',
  warmUp: 'inference-budget-warm-up',
  remediation: 'inference-budget-remediation',
  /** The admission webhook lists a namespace's models for the dependency-cycle check. */
  webhook: 'inference-budget-webhook',
} as const;

export type KubernetesRole = keyof typeof KUBERNETES_GROUPS;

/**
 * The `kubectl` commands that install what the access entries point at, from the repository folder:
 * cluster-wide mode, or namespaced mode's Roles in each governed namespace (docs/deploy.md).
 */
export function kubernetesInstallCommands(namespaces: readonly string[]): string[] {
  if (namespaces.length === 0) return ['kubectl apply -k deploy/'];
  return [
    'kubectl apply -k deploy/namespaced/',
    ...namespaces.map((namespace) => `kubectl apply -n ${namespace} -k deploy/rbac/namespace/`),
  ];
}

export interface ClusterAccessProps {
  clusterName: string;
  /** The functions that call the Kubernetes API, by the role whose group their IAM role maps to. */
  functions: Record<KubernetesRole, IFunction[]>;
}

/**
 * EKS access entries giving each Kubernetes-calling function's role its own group, and nothing more (no
 * access policy: RBAC alone decides). The cluster's authentication mode must be `API` or
 * `API_AND_CONFIG_MAP`.
 */
export class ClusterAccess extends Construct {
  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);
    for (const role of Object.keys(KUBERNETES_GROUPS) as KubernetesRole[]) {
      for (const fn of props.functions[role]) {
        new CfnAccessEntry(this, fn.node.id, {
          clusterName: props.clusterName,
          principalArn: fn.role!.roleArn,
          type: 'STANDARD',
          kubernetesGroups: [KUBERNETES_GROUPS[role]],
        });
      }
    }
  }
}
