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
