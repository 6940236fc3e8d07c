// The remote-write 1.0 body (snappy-compressed protobuf), a module of its own that
// lambdas/adapters/prometheus-remote-write.ts loads at its first write.

// The light build: reflection from JSON, without the .proto parser of the full build.
import protobuf from 'protobufjs/light.js';
import snappy from 'snappyjs';
import type { Sample } from '../core/metrics/series.js';

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
