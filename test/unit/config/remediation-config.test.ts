import { ConfigError, remediationConfig } from '../../../lambdas/config.js';

const topic = { ON_CALL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:on-call' };

describe('remediationConfig', () => {
  it('has the documented defaults: every action a dry run, and no alarm trusted', () => {
    expect(remediationConfig(topic)).toEqual({
      topicArn: topic.ON_CALL_TOPIC_ARN,
      modes: {
        GPUMemoryUsageHigh: 'dry-run',
        InferenceLatencyHigh: 'dry-run',
        ExpertLoadImbalance: 'dry-run',
        MoETrainingLossHigh: 'dry-run',
      },
      maxActionsPerHour: 3,
      maxActionsPerHourTotal: 10,
      alarmArnPrefix: undefined,
      batchSizeFloor: 1,
      loadBalanceLossCoefMax: 0.1,
      latencyScaleBackMs: 30 * 60_000,
      restartOnTrainingLossHigh: false,
      runbookBaseUrl: 'docs/runbooks/',
      cluster: undefined,
    });
  });

  it('knows its cluster, and with several that an unlabelled alert may be any of theirs', () => {
    expect(remediationConfig({ ...topic, CLUSTER_NAME: 'prod' }).cluster).toEqual({
      name: 'prod',
      labelRequired: false,
    });
    expect(
      remediationConfig({
        ...topic,
        CLUSTER_NAME: 'staging',
        LEDGER_KEYS: 'cluster',
        GOVERNED_CLUSTERS: 'prod,staging',
      }).cluster,
    ).toEqual({ name: 'staging', labelRequired: true });
  });

  it('reads every setting', () => {
    const config = remediationConfig({
      ...topic,
      REMEDIATION_GPU_MEMORY_USAGE_HIGH: 'dry-run',
      REMEDIATION_INFERENCE_LATENCY_HIGH: 'disabled',
      REMEDIATION_MAX_ACTIONS_PER_HOUR: '5',
      REMEDIATION_MAX_ACTIONS_PER_HOUR_TOTAL: '7',
      REMEDIATION_ALARM_ARN_PREFIX: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Stack-',
      REMEDIATION_BATCH_SIZE_FLOOR: '8',
      REMEDIATION_LOAD_BALANCE_LOSS_COEF_MAX: '0.05',
      REMEDIATION_LATENCY_SCALE_BACK_AFTER: '1h30m',
      REMEDIATION_TRAINING_LOSS_RESTART: 'true',
      REMEDIATION_RUNBOOK_BASE_URL: 'https://github.com/o/r/blob/main/docs/runbooks/',
    });
    expect(config).toMatchObject({
      modes: { GPUMemoryUsageHigh: 'dry-run', InferenceLatencyHigh: 'disabled' },
      maxActionsPerHour: 5,
      maxActionsPerHourTotal: 7,
      alarmArnPrefix: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Stack-',
      batchSizeFloor: 8,
      loadBalanceLossCoefMax: 0.05,
      latencyScaleBackMs: 90 * 60_000,
      restartOnTrainingLossHigh: true,
    });
  });

  it.each([
    [{}, 'environment variable ON_CALL_TOPIC_ARN is required'],
    [
      { ...topic, REMEDIATION_EXPERT_LOAD_IMBALANCE: 'on' },
      'REMEDIATION_EXPERT_LOAD_IMBALANCE must be one of enabled, dry-run, disabled, got "on"',
    ],
    [
      { ...topic, REMEDIATION_MAX_ACTIONS_PER_HOUR: '0' },
      'REMEDIATION_MAX_ACTIONS_PER_HOUR must be a whole number of at least 1, got "0"',
    ],
    [
      { ...topic, REMEDIATION_BATCH_SIZE_FLOOR: '2.5' },
      'REMEDIATION_BATCH_SIZE_FLOOR must be a whole number of at least 1',
    ],
    [
      { ...topic, REMEDIATION_LOAD_BALANCE_LOSS_COEF_MAX: '-1' },
      'REMEDIATION_LOAD_BALANCE_LOSS_COEF_MAX must be a positive number',
    ],
    [
      { ...topic, REMEDIATION_LATENCY_SCALE_BACK_AFTER: '30 minutes' },
      'REMEDIATION_LATENCY_SCALE_BACK_AFTER: "30 minutes" is not a duration',
    ],
    [
      { ...topic, REMEDIATION_TRAINING_LOSS_RESTART: 'yes' },
      'REMEDIATION_TRAINING_LOSS_RESTART must be true or false, got "yes"',
    ],
  ])('refuses %j: %s', (env, message) => {
    expect(() => remediationConfig(env)).toThrow(ConfigError);
    expect(() => remediationConfig(env)).toThrow(message);
  });
});
