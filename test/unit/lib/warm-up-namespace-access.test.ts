import { namespaceInvokeStatement } from '../../../lib/warm-up-namespace-access.js';
import { onBareStack, warmUpApiOn, TEST_ENV } from './stack-fixture.js';

type Resource = { Properties: Record<string, unknown> };

describe('namespaceInvokeStatement: per-namespace access to the warm-up API', () => {
  const {
    construct: { api },
    stack,
    template,
  } = onBareStack((stack) => warmUpApiOn(stack));
  const apiId = stack.getLogicalId(api.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  const arnPrefix = `arn:aws:execute-api:${TEST_ENV.region}:${TEST_ENV.account}:API/api/`;

  const stages = template.findResources('AWS::ApiGateway::Stage') as Record<string, Resource>;

  /** The statement's resource ARNs with the API's id, partition, region and account filled in. */
  function resourceArns(namespace: string): string[] {
    const json = stack.resolve(namespaceInvokeStatement(api, namespace).toStatementJson()) as {
      Action: string;
      Resource: unknown[];
    };
    expect(json.Action).toBe('execute-api:Invoke');
    return json.Resource.map((resource) => {
      const [separator, parts] = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return parts
        .map((part) => {
          if (typeof part === 'string') return part;
          const ref = (part as { Ref: string }).Ref;
          if (ref === apiId) return 'API';
          const stage = stages[ref];
          if (stage) return stage.Properties.StageName as string;
          return {
            'AWS::Partition': 'aws',
            'AWS::Region': TEST_ENV.region,
            'AWS::AccountId': TEST_ENV.account,
          }[ref];
        })
        .join(separator);
    });
  }

  /** IAM's ARN matching: `*` any run of characters (`/` included), `?` one character. */
  function allows(arns: string[], arn: string): boolean {
    return arns.some((pattern) =>
      new RegExp(
        `^${pattern
          .split('')
          .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
          .join('')}$`,
      ).test(arn),
    );
  }

  /** Every method the REST API synthesizes, as `METHOD /path` with its `{parameters}`. */
  function synthesizedRoutes(): string[] {
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
    const pathOf = (id: string): string => {
      const { ParentId, PathPart } = resources[id]!.Properties as { ParentId: unknown; PathPart: string };
      const parent = (ParentId as { Ref?: string }).Ref;
      return `${parent && resources[parent] ? pathOf(parent) : ''}/${PathPart}`;
    };
    return Object.values(template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>)
      .filter((method) => JSON.stringify(method.Properties.RestApiId) === JSON.stringify({ Ref: apiId }))
      .map((method) => {
        const { HttpMethod, ResourceId } = method.Properties as {
          HttpMethod: string;
          ResourceId: { Ref: string };
        };
        return `${HttpMethod} ${pathOf(ResourceId.Ref)}`;
      });
  }

  /** The execute-api ARN of a call of `route` for a model `namespace/name`. */
  const callArn = (route: string, namespace: string, name = 'llama-2-7b') => {
    const [method, path] = route.split(' ');
    return `${arnPrefix}${method}${path!.replace('{namespace}', namespace).replace('{name}', name)}`;
  };

  it("allows exactly the namespace's model routes of the synthesized API, for any model of it", () => {
    const arns = resourceArns('team-a');
    expect(arns).toEqual([`${arnPrefix}GET/v1/models/team-a/*`, `${arnPrefix}POST/v1/models/team-a/*`]);
    const routes = synthesizedRoutes();
    const allowed = routes.filter((route) => allows(arns, callArn(route, 'team-a')));
    expect(allowed.sort()).toEqual([
      'GET /v1/models/{namespace}/{name}',
      'POST /v1/models/{namespace}/{name}/activity',
      'POST /v1/models/{namespace}/{name}/warmup',
    ]);
    for (const route of allowed) expect(allows(arns, callArn(route, 'team-a', 'mistral-7b'))).toBe(true);
  });

  it('allows nothing of another namespace, of one whose name starts the same, nor the lists of all namespaces', () => {
    const arns = resourceArns('team-a');
    for (const route of synthesizedRoutes()) {
      expect(allows(arns, callArn(route, 'team-b'))).toBe(false);
      expect(allows(arns, callArn(route, 'team-ab'))).toBe(false);
    }
    expect(allows(arns, `${arnPrefix}GET/v1/models`)).toBe(false);
    expect(allows(arns, `${arnPrefix}GET/v1/pools`)).toBe(false);
    // Another stage of the same API is not this one.
    expect(
      allows(arns, callArn('POST /v1/models/{namespace}/{name}/warmup', 'team-a').replace('/api/', '/test/')),
    ).toBe(false);
  });

  it('refuses a name that is not a namespace, which could widen the pattern', () => {
    expect(() => namespaceInvokeStatement(api, '*')).toThrow('"*" is not a Kubernetes namespace name');
    expect(() => namespaceInvokeStatement(api, 'team-a/x')).toThrow('not a Kubernetes namespace name');
  });
});
