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
    });
  });

  it.each([
    [{ LOCAL_API_PORT: 'http' }, 'LOCAL_API_PORT must be a TCP port (1-65535), got "http"'],
    [{ LOCAL_METRICS_PORT: '70000' }, 'LOCAL_METRICS_PORT must be a TCP port (1-65535), got "70000"'],
    [{ LOCAL_WEBHOOK_PORT: '' }, 'LOCAL_WEBHOOK_PORT must be a TCP port (1-65535), got ""'],
    [
      { LOCAL_RECONCILE_SECONDS: '0.5' },
      'LOCAL_RECONCILE_SECONDS must be a whole number of seconds (at least 1), got "0.5"',
    ],
  ])('refuses %j with a message naming the option', (env, message) => {
    expect(() => localOptions(env)).toThrow(message);
  });
});
