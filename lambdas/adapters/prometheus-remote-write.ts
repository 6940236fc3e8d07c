import type { SignatureV4 } from '@smithy/signature-v4';
// The light build: reflection from JSON, without the .proto parser of the full build.
import protobuf from 'protobufjs/light.js';
import snappy from 'snappyjs';
import type { Sample, SeriesSink } from '../core/metrics/series.js';
import { awsSigner, type SigningCredentials } from './sigv4.js';

const REMOTE_WRITE_TIMEOUT_MS = 5_000;

// The remote-write 1.0 wire format (prometheus/prompb WriteRequest), declared by reflection: only the
// fields we send. Field numbers are the protocol's.
const root = protobuf.Root.fromJSON({
  nested: {
    WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
    TimeSeries: {
      fields: {
        labels: { rule: 'repeated', type: 'Label', id: 1 },
        samples: { rule: 'repeated', type: 'PromSample', id: 2 },
      },
    },
    Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    PromSample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
  },
});
const WriteRequest = root.lookupType('WriteRequest');

/** Encodes samples as a snappy-compressed protobuf WriteRequest, one series per distinct label set. */
export function encodeWriteRequest(samples: readonly Sample[]): Uint8Array {
  const bySeries = new Map<string, { labels: { name: string; value: string }[]; samples: object[] }>();
  for (const sample of samples) {
    // The protocol wants labels sorted by name, __name__ first among them.
    const labels = Object.entries({ __name__: sample.metric, ...sample.labels })
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value }));
    const key = JSON.stringify(labels);
    const series = bySeries.get(key) ?? { labels, samples: [] };
    series.samples.push({ value: sample.value, timestamp: sample.timestampMs });
    bySeries.set(key, series);
  }
  for (const series of bySeries.values()) {
    series.samples.sort(
      (a, b) => (a as { timestamp: number }).timestamp - (b as { timestamp: number }).timestamp,
    );
  }
  const message = WriteRequest.fromObject({ timeseries: [...bySeries.values()] });
  return snappy.compress(WriteRequest.encode(message).finish());
}

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
