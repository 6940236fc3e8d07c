import { ConfigError, contextObject, parseConfig } from '../../../lib/config.js';

function problems(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills defaults around the one required field', () => {
    expect(parseConfig({ clusterName: 'gpu-inference' })).toEqual({
      clusterName: 'gpu-inference',
      scheduleMinutes: 1,
      onCallEmails: [],
      onCallUrls: [],
      watchNamespace: undefined,
      controlPlaneName: undefined,
      orphanGraceSeconds: undefined,
      recommendationWindowSeconds: undefined,
      remoteWriteUrl: undefined,
      prometheusQueryUrl: undefined,
      ampWorkspaceArn: undefined,
      webhookSecretArn: undefined,
    });
  });

  it('treats empty strings (the cdk.json example) as unset', () => {
    const config = parseConfig({ clusterName: 'c', watchNamespace: '', remoteWriteUrl: '', onCallUrls: [] });
    expect(config.watchNamespace).toBeUndefined();
    expect(config.remoteWriteUrl).toBeUndefined();
  });

  it('accepts strings from -c: numbers and comma-separated lists', () => {
    const config = parseConfig({
      clusterName: 'c',
      scheduleMinutes: '5',
      onCallEmails: 'a@example.com, b@example.com',
    });
    expect(config.scheduleMinutes).toBe(5);
    expect(config.onCallEmails).toEqual(['a@example.com', 'b@example.com']);
  });

  it.each([undefined, null, {}, { clusterName: '' }])('requires clusterName (%p)', (raw) => {
    expect(problems(raw)).toContain(
      'context "inferenceBudget.clusterName" is required: the EKS cluster this control plane governs',
    );
  });

  it.each([
    [{ clusterName: '-bad' }, 'inferenceBudget.clusterName" must be an EKS cluster name'],
    [{ clusterName: 'c', scheduleMinutes: 0 }, 'inferenceBudget.scheduleMinutes" must be a whole number'],
    [{ clusterName: 'c', scheduleMinutes: 1.5 }, 'inferenceBudget.scheduleMinutes"'],
    [{ clusterName: 'c', scheduleMinutes: 61 }, 'inferenceBudget.scheduleMinutes"'],
    [{ clusterName: 'c', onCallEmails: ['not-an-email'] }, 'inferenceBudget.onCallEmails" must be a list'],
    [{ clusterName: 'c', onCallEmails: 42 }, 'inferenceBudget.onCallEmails" must be a list'],
    [{ clusterName: 'c', onCallUrls: ['http://plain.example.com'] }, 'inferenceBudget.onCallUrls"'],
    [{ clusterName: 'c', watchNamespace: 'Not_A_Namespace' }, 'inferenceBudget.watchNamespace"'],
    [{ clusterName: 'c', orphanGraceSeconds: -1 }, 'inferenceBudget.orphanGraceSeconds"'],
    [
      { clusterName: 'c', remoteWriteUrl: 'ftp://x' },
      'inferenceBudget.remoteWriteUrl" must be an http(s) URL',
    ],
    [{ clusterName: 'c', ampWorkspaceArn: 'arn:aws:s3:::bucket' }, 'inferenceBudget.ampWorkspaceArn"'],
    [{ clusterName: 'c', webhookSecretArn: 'secret' }, 'inferenceBudget.webhookSecretArn"'],
    [{ clusterName: 'c', clustername: 'typo' }, 'inferenceBudget.clustername" is not a known setting'],
    [
      {
        clusterName: 'c',
        remoteWriteUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      },
      'inferenceBudget.ampWorkspaceArn" is required when "inferenceBudget.remoteWriteUrl" is an AMP URL',
    ],
  ])('rejects %j', (raw, message) => {
    expect(problems(raw)).toContain(message);
  });

  it('reports every problem at once', () => {
    const message = problems({ scheduleMinutes: 0, onCallEmails: ['x'] });
    expect(message).toContain('clusterName');
    expect(message).toContain('scheduleMinutes');
    expect(message).toContain('onCallEmails');
  });
});

describe('contextObject', () => {
  it('lays flat -c keys over the inferenceBudget object', () => {
    const context: Record<string, unknown> = {
      inferenceBudget: { clusterName: 'from-json', scheduleMinutes: 2 },
      'inferenceBudget.clusterName': 'from-flag',
    };
    expect(contextObject((key) => context[key])).toEqual({ clusterName: 'from-flag', scheduleMinutes: 2 });
  });

  it('is empty without any context', () => {
    expect(contextObject(() => undefined)).toEqual({});
  });
});
