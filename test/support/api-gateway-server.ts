// Tests serve handlers through local mode's API Gateway stand-in and keep every call, to check what the
// handler was asked and what it answered.
import {
  serveApiGateway as serve,
  type ApiGatewayHandler,
  type ServeOptions,
  type ServedApi,
  type ServedCall,
} from '../../local/api-gateway.js';

export { localTls, type LocalTls } from '../../local/tls.js';

export interface RecordedApi extends ServedApi {
  /** Every call so far, in order of completion. */
  calls: ServedCall[];
}

export async function serveApiGateway(
  handler: ApiGatewayHandler,
  options: Omit<ServeOptions, 'onCall'> = {},
): Promise<RecordedApi> {
  const calls: ServedCall[] = [];
  const api = await serve(handler, { ...options, onCall: (call) => calls.push(call) });
  return { ...api, calls };
}
