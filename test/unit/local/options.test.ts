import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localOptions } from '../../../local/options.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('localOptions', () => {
  it('defaults to the ports and folder the README shows, and a 10 s reconcile', () => {
    expect(localOptions({}, '/somewhere')).toEqual({
      apiPort: 8000,
      metricsPort: 8080,
      webhookPort: 8443,
      dataDir: join(repoRoot, '.local'),
      reconcileEveryMs: 10_000,
      kubeconfig: undefined,
      clusters: undefined,
    });
  });

  it('takes every LOCAL_* option and KUBECONFIG from the environment; a relative folder is from the working folder', () => {
    const env = {
      LOCAL_API_PORT: '18000',
      LOCAL_METRICS_PORT: '18080',
      LOCAL_WEBHOOK_PORT: '18443',
      LOCAL_DATA_DIR: 'data',
      LOCAL_RECONCILE_SECONDS: '2',
      KUBECONFIG: '/home/me/.kube/config',
    };
    expect(localOptions(env, '/work')).toEqual({
      apiPort: 18000,
      metricsPort: 18080,
      webhookPort: 18443,
      dataDir: '/work/data',
      reconcileEveryMs: 2_000,
      kubeconfig: '/home/me/.kube/config',
      clusters: undefined,
    });
  });

  it('starts LOCAL_CLUSTERS clusters named local-1, local-2, ...', () => {
    expect(localOptions({ LOCAL_CLUSTERS: '2' }).clusters).toEqual({ started: ['local-1', 'local-2'] });
  });

  it('governs the LOCAL_KUBECONFIG_CONTEXTS of KUBECONFIG, each a cluster named after its context', () => {
    const env = { KUBECONFIG: '/home/me/.kube/config', LOCAL_KUBECONFIG_CONTEXTS: 'staging, prod-eu' };
    expect(localOptions(env).clusters).toEqual({ contexts: ['staging', 'prod-eu'] });
  });

  it.each([
    [{ LOCAL_API_PORT: 'http' }, 'LOCAL_API_PORT must be a TCP port (1-65535), got "http"'],
    [{ LOCAL_METRICS_PORT: '70000' }, 'LOCAL_METRICS_PORT must be a TCP port (1-65535), got "70000"'],
    [{ LOCAL_WEBHOOK_PORT: '' }, 'LOCAL_WEBHOOK_PORT must be a TCP port (1-65535), got ""'],
    [
      { LOCAL_RECONCILE_SECONDS: '0.5' },
      'LOCAL_RECONCILE_SECONDS must be a whole number of seconds (at least 1), got "0.5"',
    ],
    [{ LOCAL_CLUSTERS: 'two' }, 'LOCAL_CLUSTERS must be a whole number of clusters from 1 to 4, got "two"'],
    [{ LOCAL_CLUSTERS: '0' }, 'LOCAL_CLUSTERS must be a whole number of clusters from 1 to 4, got "0"'],
    [{ LOCAL_CLUSTERS: '5' }, 'LOCAL_CLUSTERS must be a whole number of clusters from 1 to 4, got "5"'],
    [
      { LOCAL_CLUSTERS: '2', KUBECONFIG: '/k' },
      'LOCAL_CLUSTERS starts local clusters; with KUBECONFIG set, use LOCAL_KUBECONFIG_CONTEXTS to govern its contexts instead',
    ],
    [
      { LOCAL_CLUSTERS: '2', LOCAL_KUBECONFIG_CONTEXTS: 'a,b', KUBECONFIG: '/k' },
      'LOCAL_CLUSTERS starts clusters and LOCAL_KUBECONFIG_CONTEXTS governs existing ones: set one of them',
    ],
    [
      { LOCAL_KUBECONFIG_CONTEXTS: 'a,b' },
      'LOCAL_KUBECONFIG_CONTEXTS needs KUBECONFIG, the file that holds the contexts',
    ],
    [
      { LOCAL_KUBECONFIG_CONTEXTS: 'a,arn:aws:eks:x', KUBECONFIG: '/k' },
      'LOCAL_KUBECONFIG_CONTEXTS must be context names separated by commas, each usable as a cluster name (letters, digits, - and _); not valid: ["arn:aws:eks:x"]',
    ],
    [
      { LOCAL_KUBECONFIG_CONTEXTS: 'a,a', KUBECONFIG: '/k' },
      'LOCAL_KUBECONFIG_CONTEXTS names a context twice: "a,a"',
    ],
  ])('refuses %j with a message naming the option', (env, message) => {
    expect(() => localOptions(env)).toThrow(message);
  });
});
