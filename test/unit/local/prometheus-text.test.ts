import { prometheusText } from '../../../local/prometheus-text.js';

describe('prometheusText', () => {
  it('writes each metric family in one block, with escaped label values', () => {
    const text = prometheusText([
      { metric: 'b', labels: { model: 'x' }, value: 1, timestampMs: 0 },
      { metric: 'a', labels: {}, value: 2, timestampMs: 0 },
      { metric: 'b', labels: { model: 'say "hi"\\' }, value: 3, timestampMs: 0 },
    ]);
    expect(text).toBe(
      '# HELP a a\n# TYPE a gauge\na 2\n# HELP b b\n# TYPE b gauge\nb{model="x"} 1\nb{model="say \\"hi\\"\\\\"} 3\n',
    );
  });
});
