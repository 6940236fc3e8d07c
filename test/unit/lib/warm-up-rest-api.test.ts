import { ROUTES } from '../../../lambdas/core/api/routes.js';
import { synthStack } from './stack-fixture.js';

type Resource = { Properties: Record<string, unknown> };

describe('WarmUpRestApi', () => {
  const { stack, template } = synthStack();
  const apiId = stack.getLogicalId(
    stack.warmUpApi.api.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );
  const ofApi = (type: string): Resource[] =>
    Object.values(template.findResources(type) as Record<string, Resource>).filter(
      (resource) => JSON.stringify(resource.Properties.RestApiId) === JSON.stringify({ Ref: apiId }),
    );

  /** Each resource's full path, rebuilt from its PathPart and parent. */
  function paths(): Map<string, string> {
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
    const pathOf = (id: string): string => {
      const { ParentId, PathPart } = resources[id]!.Properties as { ParentId: unknown; PathPart: string };
      const parent = (ParentId as { Ref?: string }).Ref;
      return `${parent && resources[parent] ? pathOf(parent) : ''}/${PathPart}`;
    };
    return new Map(Object.keys(resources).map((id) => [id, pathOf(id)]));
  }

  it('has exactly the handler route table, every method behind IAM auth and parameter validation', () => {
    const pathById = paths();
    const methods = ofApi('AWS::ApiGateway::Method').map((method) => {
      const props = method.Properties as {
        HttpMethod: string;
        ResourceId: { Ref: string };
        AuthorizationType: string;
        RequestValidatorId: unknown;
        RequestParameters: Record<string, boolean>;
      };
      expect(props.AuthorizationType).toBe('AWS_IAM');
      expect(props.RequestValidatorId).toBeDefined();
      return {
        route: `${props.HttpMethod} ${pathById.get(props.ResourceId.Ref)}`,
        parameters: props.RequestParameters,
      };
    });
    // The routes by cluster exist for each governed cluster, by name: here the one, gpu-inference.
    expect(methods.map((m) => m.route).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path.replace('{cluster}', 'gpu-inference')}`).sort(),
    );
    const warmUp = methods.find((m) => m.route.endsWith('/warmup'))!;
    expect(warmUp.parameters).toEqual({
      'method.request.path.namespace': true,
      'method.request.path.name': true,
      'method.request.querystring.wait': false,
      'method.request.querystring.queue': false,
    });
  });

  it('validates parameters, throttles the stage, traces, and writes JSON access logs without the raw path', () => {
    const [validator] = ofApi('AWS::ApiGateway::RequestValidator');
    expect(validator!.Properties).toMatchObject({ ValidateRequestParameters: true });
    const [stage] = ofApi('AWS::ApiGateway::Stage');
    expect(stage!.Properties).toMatchObject({
      StageName: 'api',
      TracingEnabled: true,
      MethodSettings: [
        expect.objectContaining({
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          MetricsEnabled: true,
        }),
      ],
    });
    const { Format } = (stage!.Properties as { AccessLogSetting: { Format: string } }).AccessLogSetting;
    expect(JSON.parse(Format)).toMatchObject({
      resourcePath: '$context.resourcePath',
      status: '$context.status',
    });
    expect(Format).not.toContain('$context.path');
  });

  it("answers API Gateway's own errors in the handler's envelope", () => {
    const responses = ofApi('AWS::ApiGateway::GatewayResponse').map(
      (r) => r.Properties as { ResponseType: string; ResponseTemplates: Record<string, string> },
    );
    const byType = Object.fromEntries(
      responses.map((r) => [r.ResponseType, r.ResponseTemplates['application/json']!]),
    );
    for (const [type, code] of [
      ['BAD_REQUEST_PARAMETERS', 'invalid_request'],
      ['MISSING_AUTHENTICATION_TOKEN', 'unauthorized'],
      ['ACCESS_DENIED', 'unauthorized'],
      ['THROTTLED', 'rate_limited'],
      ['DEFAULT_5XX', 'internal_error'],
    ] as const) {
      // A sample message in place of API Gateway's variable shows the template is JSON in the envelope.
      const body = JSON.parse(byType[type]!.replace('$context.error.messageString', '"sample"'));
      expect(body).toEqual({ error: { type: expect.any(String), code, message: 'sample' } });
    }
  });
});
