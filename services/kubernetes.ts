import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { KWOK_NODE_LABEL, kwokStagesConfig } from './gpu-nodes.js';
import { goBuild, goModFile } from './go-build.js';
import { ADMIN_USER, createClientCa, writeAuditPolicy } from './kubernetes-identities.js';
import { freePort } from './ports.js';
import { HarnessError, httpOk, progress, startProcess, type RunningProcess } from './processes.js';
import type { StartedService } from './service.js';

/** Pinned releases, all built from source through the Go module proxy. */
export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.16';
export const KWOK_VERSION = 'v0.8.0';

const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
const START_TIMEOUT_MS = 120_000;

interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
}

/**
 * Starts a real control plane on 127.0.0.1 (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler) with KWOK playing the kubelet of fake GPU nodes. Data, certificates, kubeconfig
 * and logs go under `runDir`. Binaries are built on the first run and then come from the cache.
 */
export async function startKubernetes(runDir: string): Promise<StartedService> {
  const bin = await buildBinaries();
  const started: RunningProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const component of started.splice(0).reverse()) await component.stop();
  };
  try {
    return await startControlPlane(runDir, bin, started, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startControlPlane(
  runDir: string,
  bin: Binaries,
  started: RunningProcess[],
  stop: () => Promise<void>,
): Promise<StartedService> {
  const t0 = Date.now();
  const pki = join(runDir, 'kubernetes-pki');
  const logDir = join(runDir, 'logs');
  await mkdir(pki, { recursive: true });

  const token = randomBytes(24).toString('hex');
  const tokenFile = join(pki, 'tokens.csv');
  await writeFile(tokenFile, `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });
  const clientCa = await createClientCa(pki);
  const auditPolicy = await writeAuditPolicy(pki);
  const auditLog = join(logDir, 'kube-apiserver-audit.log');
  const saKey = join(pki, 'service-account.key');
  const saPub = join(pki, 'service-account.pub');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  await writeFile(saKey, privateKey, { mode: 0o600 });
  await writeFile(saPub, publicKey);

  const etcdPort = await freePort();
  const etcdPeerPort = await freePort();
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  started.push(
    await startProcess({
      name: 'etcd',
      command: bin.etcd,
      args: [
        '--name=ibcp',
        `--data-dir=${join(runDir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=ibcp=${peerUrl}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      logDir,
      isReady: () => httpOk(`${etcdUrl}/health`),
      timeoutMs: START_TIMEOUT_MS,
    }),
  );

  const apiPort = await freePort();
  const server = `https://127.0.0.1:${apiPort}`;
  const apiCertDir = join(pki, 'apiserver');
  started.push(
    await startProcess({
      name: 'kube-apiserver',
      command: bin.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${apiCertDir}`,
        `--token-auth-file=${tokenFile}`,
        `--client-ca-file=${clientCa.cert}`,
        `--audit-policy-file=${auditPolicy}`,
        `--audit-log-path=${auditLog}`,
        '--audit-log-format=json',
        '--authorization-mode=Node,RBAC',
        // As on EKS: privileged pods are allowed, so only admission policies (deploy/admission-policy/) refuse them.
        '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        // The `kubernetes` Endpoints would hold 127.0.0.1, which validation rejects; nothing here needs it.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ],
      logDir,
      isReady: () => httpsOk(`${server}/readyz`, token),
      timeoutMs: START_TIMEOUT_MS,
    }),
  );

  // The self-signed serving certificate file holds the certificate followed by the CA that signed it.
  const caFile = join(apiCertDir, 'apiserver.crt');
  const kubeconfig = join(runDir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, kubeconfigYaml(server, await readFile(caFile), token), { mode: 0o600 });
  const componentAuth = [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--profiling=false',
  ];

  const kcmPort = await freePort();
  started.push(
    await startProcess({
      name: 'kube-controller-manager',
      command: bin.kubeControllerManager,
      args: [
        ...componentAuth,
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(pki, 'kube-controller-manager')}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caFile}`,
        // The defaults (20 QPS, 5 Deployment workers) are sized for a shared production apiserver; a
        // benchmark of 1,000 models would wait minutes for Deployment status to catch up.
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--concurrent-deployment-syncs=20',
        '--concurrent-replicaset-syncs=20',
        // KWOK renews node leases from one process; under a load of 1,000 pods it can fall behind, and
        // the node lifecycle controller would then mark every pod on the node not Ready for good.
        '--node-monitor-grace-period=1h',
      ],
      logDir,
      isReady: () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`),
      timeoutMs: START_TIMEOUT_MS,
    }),
  );

  const schedulerPort = await freePort();
  started.push(
    await startProcess({
      name: 'kube-scheduler',
      command: bin.kubeScheduler,
      args: [
        ...componentAuth,
        `--secure-port=${schedulerPort}`,
        `--cert-dir=${join(pki, 'kube-scheduler')}`,
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
      ],
      logDir,
      isReady: () => httpsOk(`https://127.0.0.1:${schedulerPort}/readyz`),
      timeoutMs: START_TIMEOUT_MS,
    }),
  );

  const kwokDir = join(runDir, 'kwok');
  await mkdir(kwokDir, { recursive: true });
  const stagesFile = join(kwokDir, 'stages.yaml');
  await writeFile(stagesFile, kwokStagesConfig());
  const kwokPort = await freePort();
  started.push(
    await startProcess({
      name: 'kwok',
      command: bin.kwok,
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--config=${stagesFile}`,
        `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL.key}=${KWOK_NODE_LABEL.value}`,
        `--server-address=127.0.0.1:${kwokPort}`,
        // Fake pod IPs (never contacted); a /16 so a long run does not exhaust them.
        '--cidr=10.0.0.0/16',
      ],
      // Keeps KWOK from reading a ~/.kwok/kwok.yaml of whoever runs the tests.
      env: { KWOK_WORKDIR: kwokDir },
      logDir,
      isReady: () => httpOk(`http://127.0.0.1:${kwokPort}/healthz`),
      timeoutMs: START_TIMEOUT_MS,
    }),
  );

  progress(`kubernetes control plane ready at ${server} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return {
    name: 'kubernetes',
    env: {
      IBCP_KUBECONFIG: kubeconfig,
      IBCP_KUBE_SERVER: server,
      IBCP_KUBE_TOKEN: token,
      IBCP_KUBECTL: bin.kubectl,
      IBCP_KUBE_CLIENT_CA_CERT: clientCa.cert,
      IBCP_KUBE_CLIENT_CA_KEY: clientCa.key,
      IBCP_KUBE_AUDIT_LOG: auditLog,
    },
    stop,
  };
}

/** Builds (first run only) each component in turn; the machine has two cores, so never in parallel. */
async function buildBinaries(): Promise<Binaries> {
  const [major, minor] = KUBERNETES_VERSION.slice(1).split('.');
  const kubernetes = await goBuild({
    component: 'kubernetes',
    cacheKey: `go/kubernetes-${KUBERNETES_VERSION}`,
    module: 'k8s.io/kubernetes',
    version: KUBERNETES_VERSION,
    replaces: kubernetesStagingPins,
    binaries: {
      'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
      'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
      'kube-scheduler': 'k8s.io/kubernetes/cmd/kube-scheduler',
      kubectl: 'k8s.io/kubernetes/cmd/kubectl',
    },
    ldflags: [
      `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
      `-X k8s.io/component-base/version.gitMajor=${major}`,
      `-X k8s.io/component-base/version.gitMinor=${minor}`,
      `-X k8s.io/client-go/pkg/version.gitVersion=${KUBERNETES_VERSION}`,
    ].join(' '),
  });
  const etcd = await goBuild({
    component: 'etcd',
    cacheKey: `go/etcd-${ETCD_VERSION}`,
    module: 'go.etcd.io/etcd/server/v3',
    version: ETCD_VERSION,
    binaries: { etcd: 'go.etcd.io/etcd/server/v3' },
  });
  const kwok = await goBuild({
    component: 'kwok',
    cacheKey: `go/kwok-${KWOK_VERSION}`,
    module: 'sigs.k8s.io/kwok',
    version: KWOK_VERSION,
    binaries: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
  });
  return {
    etcd: join(etcd, 'etcd'),
    kubeApiserver: join(kubernetes, 'kube-apiserver'),
    kubeControllerManager: join(kubernetes, 'kube-controller-manager'),
    kubeScheduler: join(kubernetes, 'kube-scheduler'),
    kubectl: join(kubernetes, 'kubectl'),
    kwok: join(kwok, 'kwok'),
  };
}

/**
 * k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with `./staging/src/...`,
 * which a dependent module cannot see; each is published as v0.<minor>.<patch>. The list comes from
 * the release's own go.mod, so it follows the release.
 */
async function kubernetesStagingPins(buildDir: string): Promise<Record<string, string>> {
  const stagingVersion = KUBERNETES_VERSION.replace(/^v1\./, 'v0.');
  const goMod = await goModFile('kubernetes', 'k8s.io/kubernetes', KUBERNETES_VERSION, buildDir);
  const pins: Record<string, string> = {};
  for (const match of goMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\/src\//gm)) {
    pins[match[1] as string] = stagingVersion;
  }
  if (Object.keys(pins).length === 0) {
    throw new HarnessError(
      'kubernetes',
      `no staging replace lines found in the go.mod of ${KUBERNETES_VERSION}`,
    );
  }
  return pins;
}

function kubeconfigYaml(server: string, ca: Buffer, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ibcp
  cluster:
    server: ${server}
    certificate-authority-data: ${ca.toString('base64')}
users:
- name: ibcp-admin
  user:
    token: ${token}
contexts:
- name: ibcp
  context:
    cluster: ibcp
    user: ibcp-admin
current-context: ibcp
`;
}

/** Readiness probe over TLS on loopback; the components' self-signed certificates are not checked here. */
function httpsOk(url: string, token?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const headers = token ? { authorization: `Bearer ${token}` } : undefined;
    const req = request(url, { headers, rejectUnauthorized: false, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
