import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../services/kubectl.js';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { PrometheusWorkspace } from '../../../lib/prometheus-workspace.js';
import { AMP_WORKSPACE_ARN, onBareStack, synthStack } from './stack-fixture.js';

const ruleFiles = readdirSync(join(repoRoot, 'observability', 'rules')).filter((f) => f.endsWith('.yml'));

/** The workspace on a bare Stack, alerting to a topic of its own. */
const workspaceOn = (existingWorkspaceArn?: string) =>
  onBareStack(
    (stack) =>
      new PrometheusWorkspace(stack, 'Prometheus', {
        alertTopic: new Topic(stack, 'OnCall'),
        ...(existingWorkspaceArn && { existingWorkspaceArn }),
      }),
  );

describe('PrometheusWorkspace', () => {
  const { stack, template } = workspaceOn();
  const topicId = stack.getLogicalId(
    stack.node.findChild('OnCall').node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );

  it('creates a workspace whose alert manager sends every alert to the on-call topic, marked as from AMP', () => {
    const [workspace] = Object.values(template.findResources('AWS::APS::Workspace'));
    const definition = JSON.stringify(workspace!.Properties.AlertManagerDefinition);
    expect(definition).toContain('alertmanager_config: |');
    expect(definition).toContain('sns_configs:');
    expect(definition).toContain(`{"Ref":"${topicId}"}`);
    expect(definition).toContain('region: eu-west-1');
    expect(definition).toContain('source: amp-alertmanager');
  });

  it('loads each rules file promtool tests into its own rule-groups namespace, verbatim', () => {
    const namespaces = Object.values(template.findResources('AWS::APS::RuleGroupsNamespace')).map(
      (ns) => ns.Properties as { Name: string; Data: string },
    );
    expect(namespaces.map((ns) => `${ns.Name}.yml`).sort()).toEqual(ruleFiles.sort());
    for (const ns of namespaces) {
      expect(ns.Data).toBe(readFileSync(join(repoRoot, 'observability', 'rules', `${ns.Name}.yml`), 'utf8'));
    }
  });

  it('lets AMP publish to the topic only from this workspace and account', () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[],
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'aps.amazonaws.com' },
        Action: ['sns:Publish', 'sns:GetTopicAttributes'],
        Condition: {
          StringEquals: { 'aws:SourceAccount': '123456789012' },
          ArnEquals: { 'aws:SourceArn': expect.objectContaining({ 'Fn::GetAtt': expect.any(Array) }) },
        },
      }),
    );
  });

  it('uses an existing workspace when one is configured: its rules, its URLs, no new workspace', () => {
    const existing = workspaceOn(AMP_WORKSPACE_ARN);
    existing.template.resourceCountIs('AWS::APS::Workspace', 0);
    existing.template.allResourcesProperties('AWS::APS::RuleGroupsNamespace', {
      Workspace: AMP_WORKSPACE_ARN,
    });
    expect(existing.stack.resolve(existing.construct.endpoint)).toEqual({
      'Fn::Join': [
        '',
        [
          'https://aps-workspaces.eu-west-1.',
          { Ref: 'AWS::URLSuffix' },
          '/workspaces/ws-0123abcd-4567-89ef/',
        ],
      ],
    });
  });
});

describe('PrometheusWorkspace in the control-plane stack', () => {
  const { template } = synthStack();

  it('points the Lambdas at the workspace for remote write and queries', () => {
    const [scheduled] = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) =>
      String(fn.Properties.Description).startsWith('Scheduled'),
    );
    const env = scheduled!.Properties.Environment.Variables as Record<string, unknown>;
    expect(JSON.stringify(env.AMP_REMOTE_WRITE_URL)).toContain('api/v1/remote_write');
    expect(JSON.stringify(env.AMP_REMOTE_WRITE_URL)).toContain('PrometheusEndpoint');
    expect(JSON.stringify(env.PROMETHEUS_QUERY_URL)).toContain('PrometheusEndpoint');
  });
});
