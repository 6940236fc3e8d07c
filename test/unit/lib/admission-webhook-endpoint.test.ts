import { synthStack } from './stack-fixture.js';

type Resource = { Properties: Record<string, unknown> };

describe('AdmissionWebhookEndpoint', () => {
  const { stack, template } = synthStack();
  const apiId = stack.getLogicalId(
    stack.webhookEndpoint.api.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );
  const ofApi = (type: string): Resource[] =>
    Object.values(template.findResources(type) as Record<string, Resource>).filter(
      (resource) => JSON.stringify(resource.Properties.RestApiId) === JSON.stringify({ Ref: apiId }),
    );

  it('sends every POST under /webhook/ to the handler, unsigned (the API server cannot sign)', () => {
    const parts = ofApi('AWS::ApiGateway::Resource').map((r) => r.Properties.PathPart);
    expect(parts.sort()).toEqual(['webhook', '{proxy+}']);
    const methods = ofApi('AWS::ApiGateway::Method').map((m) => m.Properties);
    expect(methods).toEqual([
      expect.objectContaining({
        HttpMethod: 'POST',
        AuthorizationType: 'NONE',
        RequestParameters: { 'method.request.path.proxy': true },
        Integration: expect.objectContaining({ Type: 'AWS_PROXY' }),
      }),
    ]);
  });

  it('throttles, traces and logs the route template only, never the path that holds the secret', () => {
    const [stage] = ofApi('AWS::ApiGateway::Stage');
    expect(stage!.Properties).toMatchObject({
      StageName: 'admission',
      TracingEnabled: true,
      MethodSettings: [expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
    });
    const { Format } = (stage!.Properties as { AccessLogSetting: { Format: string } }).AccessLogSetting;
    expect(Format).toContain('$context.resourcePath');
    expect(Format).not.toContain('$context.path');
  });
});
