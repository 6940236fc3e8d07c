import type { SignatureV4 } from '@smithy/signature-v4';
import type { Sample, SeriesSink } from '../core/metrics/series.js';
import { awsSigner, type SigningCredentials } from './sigv4.js';

const REMOTE_WRITE_TIMEOUT_MS = 5_000;

/**
 * Sends samples to a Prometheus remote-write endpoint: Amazon Managed Prometheus'
 * `/workspaces/<id>/api/v1/remote_write` (give `region`: requests are SigV4-signed for service `aps`),
 * or a plain Prometheus with `--web.enable-remote-write-receiver`.
 */
export class RemoteWriteSink implements SeriesSink {
  private readonly signer: SignatureV4 | undefined;

  constructor(
    private readonly url: string,
    options: { region?: string; credentials?: SigningCredentials } = {},
  ) {
    this.signer =
      options.region === undefined ? undefined : awsSigner('aps', options.region, options.credentials);
  }

  async write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    // Loaded at the first write, not with the Lambda: protobufjs and long are about 100 KiB of the warm-up
    // API's 650, which writes series only when it rejects or evicts. (The scheduled pass writes on every
    // pass: there the load moves into its first invocation.)
    const { encodeWriteRequest } = await import('./prometheus-write-request.js');
    const body = encodeWriteRequest(samples);
    const target = new URL(this.url);
    let headers: Record<string, string> = {
      host: target.host,
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
    };
    if (this.signer) {
      const signed = await this.signer.sign({
        method: 'POST',
        protocol: target.protocol,
        hostname: target.hostname,
        ...(target.port && { port: Number(target.port) }),
        path: target.pathname,
        headers,
        body,
      });
      headers = signed.headers;
    }
    const response = await fetch(this.url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(REMOTE_WRITE_TIMEOUT_MS),
    });
    if (!response.ok) {
      throw new Error(`remote write to ${this.url} failed: ${response.status} ${await response.text()}`);
    }
  }
}
