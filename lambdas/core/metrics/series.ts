/** One sample of one time series, as Prometheus sees it: a metric name, its labels, a value at a time. */
export interface Sample {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

/** Where per-model series go (Amazon Managed Prometheus in production). */
export interface SeriesSink {
  write(samples: readonly Sample[]): Promise<void>;
}

export interface HistogramState {
  readonly buckets: readonly number[];
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * Counters and histograms that outlive a Lambda invocation, so the series sent to Prometheus stay
 * monotonic however many Lambda instances add to them.
 */
export interface MetricCounters {
  /** Adds `by` (0 reads) and returns the new total. */
  increment(metric: string, labels: Readonly<Record<string, string>>, by: number): Promise<number>;
  observe(
    metric: string,
    labels: Readonly<Record<string, string>>,
    buckets: readonly number[],
    value: number,
  ): Promise<HistogramState>;
}
