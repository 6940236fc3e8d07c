import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBERNETES_GROUPS, type KubernetesRole } from '../../lib/cluster-access.js';
import { createCertificate } from '../../services/kubernetes-identities.js';
import { harnessEnv } from '../../services/service.js';
import { uniqueName } from '../../services/kubectl.js';

/** A user of the harness's apiserver with a client certificate: CN is the user, O its group. */
export interface KubernetesIdentity {
  user: string;
  group: string;
  /** A kubeconfig file that signs in as this user (for `KUBECONFIG` or `kubeConfigFromFile`). */
  kubeconfig: string;
}

/**
 * A fresh user in the group an EKS access entry gives the role's Lambdas (lib/cluster-access.ts), so a
 * handler runs with the rights it has in production: only what deploy/rbac binds to that group. The
 * user name is unique, so the audit log tells its requests from everyone else's.
 */
export function identityOf(
  role: KubernetesRole,
  cluster: ClusterEnv = harnessEnv,
): Promise<KubernetesIdentity> {
  return identityInGroup(KUBERNETES_GROUPS[role], uniqueName(`ibcp-${role.toLowerCase()}`), cluster);
}

/** The harness's cluster, or another a test started (`StartedService.env` of startKubernetes). */
type ClusterEnv = (name: string) => string;

/** Any user and group, e.g. a team's developer next to the control plane. */
export async function identityInGroup(
  group: string,
  user: string,
  cluster: ClusterEnv = harnessEnv,
): Promise<KubernetesIdentity> {
  const dir = await mkdtemp(join(tmpdir(), 'ibcp-identity-'));
  const key = join(dir, 'client.key');
  const cert = join(dir, 'client.crt');
  await createCertificate({
    key,
    cert,
    subject: `/CN=${user}/O=${group}`,
    days: 1,
    signedBy: { cert: cluster('IBCP_KUBE_CLIENT_CA_CERT'), key: cluster('IBCP_KUBE_CLIENT_CA_KEY') },
  });
  const admin = await readFile(cluster('IBCP_KUBECONFIG'), 'utf8');
  const server = /server: (\S+)/.exec(admin)![1];
  const ca = /certificate-authority-data: (\S+)/.exec(admin)![1];
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  const base64 = async (path: string) => (await readFile(path)).toString('base64');
  await writeFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: ibcp
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${user}
  user:
    client-certificate-data: ${await base64(cert)}
    client-key-data: ${await base64(key)}
contexts:
- name: ibcp
  context:
    cluster: ibcp
    user: ${user}
current-context: ibcp
`,
    { mode: 0o600 },
  );
  return { user, group, kubeconfig };
}

/** One request as the apiserver's audit log recorded it (services/kubernetes-identities.ts). */
export interface AuditedRequest {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  status: number;
}

interface AuditEvent {
  stage: string;
  user: { username: string };
  verb: string;
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code: number };
}

/**
 * Every resource request `user` sent, once the apiserver has written them all: the log is read until it
 * holds the same number of this user's requests twice in a row.
 */
export async function auditedRequests(user: string): Promise<AuditedRequest[]> {
  let previous = -1;
  for (;;) {
    const requests = (await readFile(harnessEnv('IBCP_KUBE_AUDIT_LOG'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes(`"${user}"`))
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.user.username === user && event.stage === 'ResponseComplete')
      .flatMap((event) =>
        event.objectRef?.resource
          ? [
              {
                verb: event.verb,
                apiGroup: event.objectRef.apiGroup ?? '',
                resource: event.objectRef.resource,
                subresource: event.objectRef.subresource,
                namespace: event.objectRef.namespace,
                name: event.objectRef.name,
                status: event.responseStatus?.code ?? 0,
              },
            ]
          : [],
      );
    if (requests.length === previous) return requests;
    previous = requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The first calls of wrapped handlers, one after the other (see `runAs`). */
let firstCalls: Promise<unknown> = Promise.resolve();

/**
 * `handler` signing in as `identity`, as its Lambda does with its role's access entry. A handler reads
 * `KUBECONFIG` once, at its first invocation (its wiring, lambdas/handlers/wiring/): that call runs with the
 * identity's kubeconfig set and after every other wrapped handler's first call, so handlers of several
 * roles can share one test file's environment.
 */
export function runAs<E, C, R>(
  identity: KubernetesIdentity,
  handler: (event: E, context: C) => Promise<R>,
): (event: E, context: C) => Promise<R> {
  let first: Promise<R> | undefined;
  return async (event, context) => {
    if (first) {
      await first.catch(() => undefined);
      return handler(event, context);
    }
    const previous = firstCalls;
    first = (async () => {
      await previous;
      process.env.KUBECONFIG = identity.kubeconfig;
      return handler(event, context);
    })();
    firstCalls = first.catch(() => undefined);
    return first;
  };
}
