import { ApiError } from '../../../lambdas/core/api/errors.js';
import { parseRequest, type ApiRequest } from '../../../lambdas/core/api/routes.js';

const request = (method: string, path: string, extra: Partial<ApiRequest> = {}): ApiRequest => ({
  method,
  path,
  query: null,
  body: null,
  ...extra,
});

function refusal(req: ApiRequest): { status: number; code: string; message: string } {
  try {
    parseRequest(req);
  } catch (error) {
    if (error instanceof ApiError)
      return { status: error.status, code: error.body.error.code, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

describe('parseRequest', () => {
  it.each([
    ['POST', '/v1/models/ml/llama-2-7b/warmup', 'warmUp'],
    ['POST', '/v1/models/ml/llama-2-7b/activity', 'recordActivity'],
    ['GET', '/v1/models/ml/llama-2-7b', 'getModel'],
    ['GET', '/v1/models', 'listModels'],
    ['GET', '/v1/pools', 'listPools'],
    ['GET', '/v1/usage', 'getUsage'],
  ])('%s %s is %s', (method, path, operation) => {
    expect(parseRequest(request(method, path)).operation).toBe(operation);
  });

  it('reads the model and the wait', () => {
    expect(
      parseRequest(request('POST', '/v1/models/ml/llama-2-7b/warmup', { query: { wait: '25' }, body: '{}' })),
    ).toEqual({
      operation: 'warmUp',
      cluster: undefined,
      model: { namespace: 'ml', name: 'llama-2-7b' },
      waitSeconds: 25,
      since: undefined,
    });
  });

  it.each([
    ['POST', '/v1/clusters/staging/models/ml/llama-2-7b/warmup', 'warmUp'],
    ['POST', '/v1/clusters/staging/models/ml/llama-2-7b/activity', 'recordActivity'],
    ['GET', '/v1/clusters/staging/models/ml/llama-2-7b', 'getModel'],
    ['GET', '/v1/clusters/staging/models', 'listModels'],
  ])('%s %s is %s in that cluster', (method, path, operation) => {
    expect(parseRequest(request(method, path))).toMatchObject({ operation, cluster: 'staging' });
  });

  it('refuses a cluster name EKS would not accept, in the error envelope', () => {
    expect(refusal(request('GET', '/v1/clusters/-x/models'))).toEqual({
      status: 400,
      code: 'invalid_request',
      message: '"-x" is not a cluster name: use /v1/clusters/{cluster}/models/... with an EKS cluster name',
    });
    expect(refusal(request('GET', '/v1/clusters/staging/pools'))).toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });

  it('reads the usage window as given (the handler reads it against the clock)', () => {
    expect(parseRequest(request('GET', '/v1/usage', { query: { since: '24h' } }))).toMatchObject({
      operation: 'getUsage',
      model: undefined,
      since: '24h',
    });
  });

  it.each([
    ['unknown path', request('GET', '/v2/models'), 404, 'not_found'],
    ['wrong method', request('DELETE', '/v1/pools'), 405, 'method_not_allowed'],
    ['bad namespace', request('GET', '/v1/models/ML/x'), 400, 'invalid_request'],
    ['odd unicode name', request('GET', '/v1/models/ml/%E2%98%83'), 400, 'invalid_request'],
    ['bad percent-encoding', request('GET', '/v1/models/ml/%E0%A4%A'), 400, 'invalid_request'],
    [
      'wait too long',
      request('POST', '/v1/models/ml/a/warmup', { query: { wait: '26' } }),
      400,
      'invalid_request',
    ],
    [
      'negative wait',
      request('POST', '/v1/models/ml/a/warmup', { query: { wait: '-1' } }),
      400,
      'invalid_request',
    ],
    ['unknown query', request('GET', '/v1/pools', { query: { verbose: '1' } }), 400, 'invalid_request'],
    [
      'malformed JSON body',
      request('POST', '/v1/models/ml/a/warmup', { body: '{"' }),
      400,
      'invalid_request',
    ],
    [
      'unexpected body fields',
      request('POST', '/v1/models/ml/a/warmup', { body: '{"memory":"1Ti"}' }),
      400,
      'invalid_request',
    ],
    [
      'body over 1 MiB',
      request('POST', '/v1/models/ml/a/warmup', { body: 'x'.repeat(1024 * 1024 + 1) }),
      413,
      'payload_too_large',
    ],
  ])('refuses %s', (_case, req, status, code) => {
    expect(refusal(req)).toMatchObject({ status, code });
  });

  it('keeps control characters out of its messages', () => {
    expect(refusal(request('GET', '/v1/models/ml/a\u0000b')).message).not.toContain('\u0000');
  });
});
