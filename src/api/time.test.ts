import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpDate, rfc3339, rfc3339Micro, rfc3339Milli, rfc3339Nano } from './time.ts';

// Instants where calendar arithmetic goes wrong first: the epoch and the day before it, leap days
// (2000 is a leap year, 1900 and 2100 are not), year and era boundaries, the last millisecond of a
// day, and the ends of the four-digit years.
const EDGES = [
  0, -1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -2_203_891_200_000, 946_684_799_999, 946_684_800_000,
  1_709_164_800_000, 253_402_300_799_999, -62_167_219_200_000, -62_135_596_800_000, Date.UTC(2100, 1, 28, 23, 59, 59, 999), Date.UTC(2100, 2, 1),
];

test('RFC 3339 forms agree with Date over edge cases and 20,000 random instants across 0000–9999', () => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const instants = [...EDGES, ...Array.from({ length: 20_000 }, () => Math.floor(-62_167_219_200_000 + random() * (253_402_300_799_999 + 62_167_219_200_000)))];
  for (const ms of instants) {
    const iso = new Date(ms).toISOString();
    assert.equal(rfc3339Milli(ms), iso, `rfc3339Milli(${ms})`);
    assert.equal(rfc3339(ms), `${iso.slice(0, 19)}Z`, `rfc3339(${ms})`);
    assert.equal(rfc3339Micro(ms), `${iso.slice(0, 23)}000Z`, `rfc3339Micro(${ms})`);
    assert.equal(httpDate(ms), new Date(ms).toUTCString(), `httpDate(${ms})`);
  }
});

test('metav1.Time drops fractions rather than rounding into the next second', () => {
  assert.equal(rfc3339(Date.UTC(2024, 11, 31, 23, 59, 59, 999)), '2024-12-31T23:59:59Z');
  assert.equal(rfc3339(1_700_000_000_123.9), '2023-11-14T22:13:20Z');
});

test('CRI log times carry nanoseconds: the millisecond plus a sequence that keeps same-millisecond records in order', () => {
  const t = Date.UTC(2024, 4, 1, 10, 0, 0, 123);
  assert.equal(rfc3339Nano(t), '2024-05-01T10:00:00.123000000Z');
  assert.equal(rfc3339Nano(t, 42), '2024-05-01T10:00:00.123000042Z');
  assert.ok(rfc3339Nano(t, 1) < rfc3339Nano(t, 2));
});

test('an HTTP date is IMF-fixdate with the right weekday', () => {
  assert.equal(httpDate(784_111_777_000), 'Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(httpDate(-86_400_000), 'Wed, 31 Dec 1969 00:00:00 GMT');
});

test('a time that is not a finite number is refused, not formatted as a wrong date', () => {
  assert.throws(() => rfc3339(Number.NaN), /invalid time: NaN/);
  assert.throws(() => httpDate(Number.POSITIVE_INFINITY), /invalid time: Infinity/);
});
