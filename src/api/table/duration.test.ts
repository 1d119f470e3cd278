import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ageSince, humanDuration } from './duration.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration prints ages as kubectl does', () => {
  const cases: [ms: number, expected: string][] = [
    [-5 * S, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [999, '0s'],
    [5 * S, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 2 * S, '3m2s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [5 * H + 3 * M, '5h3m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [3 * D + 4 * H, '3d4h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [2 * 365 * D, '2y'],
    [2 * 365 * D + 10 * D, '2y10d'],
    [8 * 365 * D + 100 * D, '8y'],
  ];
  for (const [ms, expected] of cases) {
    it(`${ms}ms → ${expected}`, () => {
      assert.equal(humanDuration(ms), expected);
    });
  }
});

describe('ageSince', () => {
  const now = new Date('2024-03-01T12:00:00Z');
  it('measures from a timestamp to now', () => {
    assert.equal(ageSince('2024-03-01T11:55:00Z', now), '5m');
  });
  it('is <unknown> without a timestamp', () => {
    assert.equal(ageSince(undefined, now), '<unknown>');
    assert.equal(ageSince('', now), '<unknown>');
  });
});
