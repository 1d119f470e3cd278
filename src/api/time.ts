/**
 * Timestamps as Kubernetes and HTTP write them, formatted by arithmetic on epoch milliseconds.
 *
 * Why not `Date.prototype.toISOString`: V8's date formatters (toISOString, toUTCString, toJSON)
 * first set up its date cache, and that loads ICU's time-zone tables even when the answer is UTC.
 * The first timestamp an edge process formatted that way made about 1 MB of the `node` binary
 * resident for the rest of its life (ADR 006). Parsing (`Date.parse`) and `Date.now()` do not.
 */

const MS_PER_DAY = 86_400_000;
const WEEKDAYS = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed'] as const; // 1970-01-01 was a Thursday
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** The UTC calendar fields of an instant. */
interface Civil {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly milli: number;
  /** Days since 1970-01-01, for the weekday. */
  readonly days: number;
}

/**
 * Splits epoch milliseconds into UTC calendar fields: the days-to-civil algorithm of
 * H. Hinnant ("chrono-Compatible Low-Level Date Algorithms"), exact over the proleptic Gregorian
 * calendar, counting 400-year eras from 0000-03-01.
 */
function civil(ms: number): Civil {
  if (!Number.isFinite(ms)) throw new RangeError(`invalid time: ${ms}`);
  const t = Math.floor(ms);
  const days = Math.floor(t / MS_PER_DAY);
  let rest = t - days * MS_PER_DAY;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // 0 = March
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day, hour, minute, second, milli: rest - second * 1000, days };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

function yearText(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return (year < 0 ? '-' : '+') + String(Math.abs(year)).padStart(6, '0');
}

/** `2006-01-02T15:04:05`: the part every RFC 3339 form shares. */
function dateTime(c: Civil): string {
  return `${yearText(c.year)}-${pad2(c.month)}-${pad2(c.day)}T${pad2(c.hour)}:${pad2(c.minute)}:${pad2(c.second)}`;
}

/** metav1.Time: RFC 3339 to the second, `2006-01-02T15:04:05Z` (fractions are dropped, not rounded). */
export function rfc3339(ms: number): string {
  return `${dateTime(civil(ms))}Z`;
}

/** RFC 3339 with milliseconds, `2006-01-02T15:04:05.000Z`: what `Date.prototype.toISOString` gives. */
export function rfc3339Milli(ms: number): string {
  const c = civil(ms);
  return `${dateTime(c)}.${String(c.milli).padStart(3, '0')}Z`;
}

/** metav1.MicroTime: RFC 3339 with microseconds, as Lease.spec.renewTime and Events are written. */
export function rfc3339Micro(ms: number): string {
  const c = civil(ms);
  return `${dateTime(c)}.${String(c.milli).padStart(3, '0')}000Z`;
}

/** RFC 3339 with nanoseconds, as containerd writes CRI log lines (`2024-05-01T10:00:00.123456789Z`). */
export function rfc3339Nano(ms: number, extraNanos = 0): string {
  const c = civil(ms);
  return `${dateTime(c)}.${String(c.milli * 1_000_000 + extraNanos).padStart(9, '0')}Z`;
}

/** An HTTP date (RFC 9110 IMF-fixdate), `Sun, 06 Nov 1994 08:49:37 GMT`, as a `Date` header carries it. */
export function httpDate(ms: number): string {
  const c = civil(ms);
  const weekday = WEEKDAYS[((c.days % 7) + 7) % 7]!;
  return `${weekday}, ${pad2(c.day)} ${MONTHS[c.month - 1]!} ${yearText(c.year)} ${pad2(c.hour)}:${pad2(c.minute)}:${pad2(c.second)} GMT`;
}
