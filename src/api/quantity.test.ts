import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  QUANTITY_FORMAT_MESSAGE,
  QUANTITY_SUFFIX_MESSAGE,
  QuantityError,
  addQuantities,
  canonicalQuantity,
  compareQuantities,
  formatQuantity,
  milliValue,
  parseQuantity,
  quantityFromMilli,
  quantityFromUnits,
  subtractQuantities,
  tryParseQuantity,
  tryParseQuantityJson,
  unitValue,
} from './quantity.ts';

describe('canonical form, as Kubernetes writes quantities back', () => {
  const cases: [input: string, canonical: string][] = [
    ['0', '0'],
    ['0m', '0'],
    ['-0', '0'],
    ['100m', '100m'],
    ['0.1', '100m'],
    ['.5', '500m'],
    ['1.5', '1500m'],
    ['1000m', '1'],
    ['1', '1'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['2k', '2k'],
    ['1M', '1M'],
    ['1.5G', '1500M'],
    ['128974848', '128974848'],
    ['129e6', '129e6'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['12e-3', '12e-3'],
    ['123Mi', '123Mi'],
    ['1024Ki', '1Mi'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['512', '512'],
    ['1Ki', '1Ki'],
    ['0.5Ki', '512'],
    ['100Ki', '100Ki'],
    ['1n', '1n'],
    ['1u', '1u'],
    ['0.1n', '1n'],
    ['1e-20', '1e-9'],
    ['-1.5', '-1500m'],
    ['-1Ki', '-1Ki'],
    ['+2', '2'],
    ['007', '7'],
    ['1.', '1'],
    ['5E', '5E'],
  ];
  for (const [input, canonical] of cases) {
    it(`${input} → ${canonical}`, () => {
      assert.equal(canonicalQuantity(input), canonical);
    });
  }
});

describe('malformed quantities report Kubernetes\' message', () => {
  const cases: [input: string, message: string][] = [
    ['', QUANTITY_FORMAT_MESSAGE],
    ['abc', QUANTITY_FORMAT_MESSAGE],
    ['1.2.3', QUANTITY_FORMAT_MESSAGE],
    ['1 Gi', QUANTITY_FORMAT_MESSAGE],
    ['1Gb', QUANTITY_FORMAT_MESSAGE],
    ['1Qi', QUANTITY_FORMAT_MESSAGE],
    ['1KK', QUANTITY_SUFFIX_MESSAGE],
    ['1e', QUANTITY_SUFFIX_MESSAGE],
    ['1mi', QUANTITY_SUFFIX_MESSAGE],
  ];
  for (const [input, message] of cases) {
    it(JSON.stringify(input), () => {
      const r = tryParseQuantity(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.message, message);
    });
  }

  it('parseQuantity throws a QuantityError with a 400 code', () => {
    assert.throws(() => parseQuantity('lots'), (err: unknown) => err instanceof QuantityError && err.code === 'API_BAD_REQUEST' && err.text === 'lots');
  });
});

describe('comparison is exact across formats', () => {
  const cases: [a: string, b: string, expected: -1 | 0 | 1][] = [
    ['1', '1000m', 0],
    ['1Ki', '1024', 0],
    ['1k', '1Ki', -1],
    ['500m', '0.5', 0],
    ['2', '1999m', 1],
    ['1Gi', '1G', 1],
    ['-1', '0', -1],
    ['8Ei', '9Ei', 0], // both capped at MaxInt64, as Kubernetes caps binary quantities
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} vs ${b}`, () => {
      assert.equal(compareQuantities(parseQuantity(a), parseQuantity(b)), expected);
    });
  }
});

describe('values in units and thousandths round up, as MilliValue and Value do', () => {
  const cases: [input: string, milli: bigint, units: bigint][] = [
    ['100m', 100n, 1n],
    ['1', 1000n, 1n],
    ['1.5', 1500n, 2n],
    ['1n', 1n, 1n],
    ['128Mi', 134217728000n, 134217728n],
    ['-1.5', -1500n, -2n],
  ];
  for (const [input, milli, units] of cases) {
    it(input, () => {
      const q = parseQuantity(input);
      assert.equal(milliValue(q), milli);
      assert.equal(unitValue(q), units);
    });
  }
});

describe('arithmetic and construction', () => {
  it('adds requests of mixed formats and keeps the first format', () => {
    const sum = addQuantities(parseQuantity('500m'), parseQuantity('1.5'));
    assert.equal(formatQuantity(sum), '2');
    assert.equal(formatQuantity(subtractQuantities(parseQuantity('1Gi'), parseQuantity('512Mi'))), '512Mi');
  });

  it('builds millicores and bytes', () => {
    assert.equal(formatQuantity(quantityFromMilli(250)), '250m');
    assert.equal(formatQuantity(quantityFromUnits(4n * 1024n * 1024n * 1024n, 'BinarySI')), '4Gi');
  });

  it('accepts bare JSON numbers, as Quantity.UnmarshalJSON does', () => {
    const r = tryParseQuantityJson(2);
    assert.ok(r.ok && formatQuantity(r.quantity) === '2');
    assert.equal(tryParseQuantityJson(true).ok, false);
  });
});
