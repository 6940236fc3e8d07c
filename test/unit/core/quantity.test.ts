import fc from 'fast-check';
import { formatQuantity, parseQuantity, QuantityError } from '../../../lambdas/core/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['1Ki', 1024],
    ['16Mi', 16 * 2 ** 20],
    ['80Gi', 80 * 2 ** 30],
    ['2Ti', 2 * 2 ** 40],
    ['0Gi', 0],
  ])('%s is %d bytes', (text, bytes) => expect(parseQuantity(text)).toBe(bytes));

  it.each(['', '80', '80G', '80gi', '-1Gi', '1.5Gi', ' 80Gi', '80Gi ', '８０Gi', '99999999999999999Ti'])(
    'rejects %j',
    (text) => expect(() => parseQuantity(text)).toThrow(QuantityError),
  );

  it('says what a quantity looks like', () => {
    expect(() => parseQuantity('80GB')).toThrow('write a whole number and Ki, Mi, Gi or Ti, e.g. 80Gi');
  });
});

describe('formatQuantity', () => {
  it.each([
    [48 * 2 ** 30, '48Gi'],
    [84480 * 2 ** 20, '84480Mi'],
    [2 ** 40, '1Ti'],
    [1536, '1536'],
    [1023, '1023'],
    [0, '0'],
  ])('%d bytes print as %s', (bytes, text) => expect(formatQuantity(bytes)).toBe(text));

  it('round-trips every quantity it prints with a unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8191 }), fc.constantFrom('Ki', 'Mi', 'Gi', 'Ti'), (n, unit) => {
        const bytes = parseQuantity(`${n}${unit}`);
        expect(parseQuantity(formatQuantity(bytes))).toBe(bytes);
      }),
    );
  });
});
