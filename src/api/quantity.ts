/**
 * Kubernetes' `resource.Quantity`: parsing, exact comparison and arithmetic, and the canonical
 * string Kubernetes writes back (`1500m`, `128974848`, `512Mi`, `1e3`).
 *
 * A quantity is held as an exact count of nano-units (10^-9) plus the format it was written in.
 * Kubernetes rounds every quantity up to nano precision when parsing, so nothing finer can exist,
 * and a bigint keeps `8Ei` and `1n` both exact.
 */
import { PlatformError } from '../errors/platform-error.ts';

/** How a quantity is written back: `DecimalSI` (`k`, `M`, `m`), `BinarySI` (`Ki`, `Mi`), `DecimalExponent` (`e3`). */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** An exact resource quantity. */
export interface Quantity {
  /** The value in nano-units: `1` is `1_000_000_000n`, `1m` is `1_000_000n`. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

/** Kubernetes' parse error messages (`resource.ErrFormatWrong`, `ErrNumeric`, `ErrSuffix`). */
export const QUANTITY_FORMAT_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_NUMERIC_MESSAGE = 'unable to parse numeric part of quantity';
export const QUANTITY_SUFFIX_MESSAGE = "unable to parse quantity's suffix";

/**
 * A string that is not a quantity. It carries `API_BAD_REQUEST` because a malformed quantity in a
 * request body is a 400 in Kubernetes (the body cannot be decoded).
 */
export class QuantityError extends PlatformError {
  readonly text: string;

  constructor(text: string, message: string) {
    super('API_BAD_REQUEST', message);
    this.text = text;
  }
}

/** The outcome of {@link tryParseQuantity}. */
export type QuantityParse = { readonly ok: true; readonly quantity: Quantity } | { readonly ok: false; readonly message: string };

const NANO = 1_000_000_000n;
/** `math.MaxInt64`: BinarySI quantities are capped here, as Kubernetes caps them. */
const MAX_INT64 = 9_223_372_036_854_775_807n;
/**
 * Larger decimal exponents are refused rather than expanded into enormous integers. Kubernetes
 * would accept `1e100000`; nothing real needs it, and expanding it costs memory an attacker chooses.
 */
const MAX_DECIMAL_EXPONENT = 1000;

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_OF_EXPONENT: ReadonlyMap<number, string> = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIX_OF_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;

interface Pieces {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** `parseQuantityString`: sign, integer digits, fraction digits and suffix, or undefined if malformed. */
function split(str: string): Pieces | undefined {
  let pos = 0;
  const end = str.length;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  const numStart = pos;
  while (isDigit(str[pos])) pos++;
  const num = pos === numStart ? '0' : str.slice(numStart, pos);
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    const denomStart = pos;
    while (isDigit(str[pos])) pos++;
    denom = str.slice(denomStart, pos);
  }
  const suffixStart = pos;
  while (pos < end && 'eEinumkKMGTP'.includes(str[pos]!)) pos++;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  while (isDigit(str[pos])) pos++;
  if (pos !== end) return undefined;
  return { positive, num, denom, suffix: str.slice(suffixStart) };
}

type Suffix = { base: 10 | 2; exponent: number; format: QuantityFormat };

/** `suffixer.interpret`: decimal SI, then binary SI, then an `e`/`E` exponent. */
function interpretSuffix(suffix: string): Suffix | undefined {
  const dec = DECIMAL_SUFFIXES[suffix];
  if (dec !== undefined) return { base: 10, exponent: dec, format: 'DecimalSI' };
  const bin = BINARY_SUFFIXES[suffix];
  if (bin !== undefined) return { base: 2, exponent: bin, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exponent = Number.parseInt(suffix.slice(1), 10);
    if (Math.abs(exponent) <= 2 ** 31 - 1) return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return undefined;
}

/** `n / divisor` for non-negative `n`, rounded up (Kubernetes rounds magnitudes up). */
function divideRoundingUp(n: bigint, divisor: bigint): bigint {
  const q = n / divisor;
  return n % divisor === 0n ? q : q + 1n;
}

/**
 * Parses a quantity exactly as `resource.ParseQuantity` does, including its rounding of anything
 * finer than `1n` up to `1n`.
 */
export function tryParseQuantity(text: string): QuantityParse {
  if (text.length === 0) return { ok: false, message: QUANTITY_FORMAT_MESSAGE };
  const pieces = split(text);
  if (pieces === undefined) return { ok: false, message: QUANTITY_FORMAT_MESSAGE };
  const suffix = interpretSuffix(pieces.suffix);
  if (suffix === undefined) return { ok: false, message: QUANTITY_SUFFIX_MESSAGE };
  const mantissa = BigInt(pieces.num + pieces.denom);
  let nanos: bigint;
  if (suffix.base === 10) {
    const power = suffix.exponent - pieces.denom.length + 9;
    if (power > MAX_DECIMAL_EXPONENT) return { ok: false, message: QUANTITY_NUMERIC_MESSAGE };
    if (power >= 0) nanos = mantissa * 10n ** BigInt(power);
    else if (-power > pieces.num.length + pieces.denom.length + 1) nanos = mantissa === 0n ? 0n : 1n;
    else nanos = divideRoundingUp(mantissa, 10n ** BigInt(-power));
  } else {
    const scaled = mantissa << BigInt(suffix.exponent);
    const power = 9 - pieces.denom.length;
    nanos = power >= 0 ? scaled * 10n ** BigInt(power) : divideRoundingUp(scaled, 10n ** BigInt(-power));
  }
  let format = suffix.format;
  if (format === 'BinarySI') {
    if (nanos > MAX_INT64 * NANO) nanos = MAX_INT64 * NANO;
    // Below one, binary suffixes cannot express the value; Kubernetes switches to decimal.
    if (nanos > 0n && nanos < NANO) format = 'DecimalSI';
  }
  return { ok: true, quantity: { nanos: pieces.positive ? nanos : -nanos, format } };
}

/**
 * Parses a quantity (`500m`, `1.5`, `128Mi`, `1e3`).
 *
 * @throws QuantityError with Kubernetes' message when `text` is not a quantity.
 */
export function parseQuantity(text: string): Quantity {
  const r = tryParseQuantity(text);
  if (!r.ok) throw new QuantityError(text, r.message);
  return r.quantity;
}

/**
 * A quantity as it appears in JSON: Kubernetes accepts a string or a bare number (`cpu: 2`).
 * Anything else is not a quantity.
 */
export function tryParseQuantityJson(value: unknown): QuantityParse {
  if (typeof value === 'string') return tryParseQuantity(value);
  if (typeof value === 'number' && Number.isFinite(value)) return tryParseQuantity(String(value));
  return { ok: false, message: QUANTITY_FORMAT_MESSAGE };
}

/** The canonical text Kubernetes writes for `q` (`Quantity.String()`). */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  if (q.format === 'BinarySI') {
    const whole = q.nanos % NANO === 0n;
    const value = q.nanos / NANO;
    // Small or fractional values read better (and lose nothing) in decimal.
    if (whole && (value <= -1024n || value >= 1024n)) {
      let amount = value;
      let power = 0;
      while (power < BINARY_SUFFIX_OF_POWER.length - 1 && amount % 1024n === 0n) {
        amount /= 1024n;
        power++;
      }
      return `${amount}${BINARY_SUFFIX_OF_POWER[power]}`;
    }
  }
  let mantissa = q.nanos;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  // Exponents are multiples of three so that an SI suffix exists; round toward -infinity.
  while (((exponent % 3) + 3) % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (q.format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  if (exponent > 18) {
    mantissa *= 10n ** BigInt(exponent - 18);
    exponent = 18;
  }
  return `${mantissa}${DECIMAL_SUFFIX_OF_EXPONENT.get(exponent) ?? ''}`;
}

/** The canonical form of a quantity string, or undefined when it is not a quantity. */
export function canonicalQuantity(text: string): string | undefined {
  const r = tryParseQuantity(text);
  return r.ok ? formatQuantity(r.quantity) : undefined;
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b` (`Quantity.Cmp`). */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** `a + b`, in the format of `a` (as `Quantity.Add` keeps the receiver's format). */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos + b.nanos, format: a.format };
}

/** `a - b`, in the format of `a`. */
export function subtractQuantities(a: Quantity, b: Quantity): Quantity {
  return { nanos: a.nanos - b.nanos, format: a.format };
}

/** `Quantity.MilliValue()`: the value in thousandths, rounded away from zero (`1n` → 1). */
export function milliValue(q: Quantity): bigint {
  return q.nanos >= 0n ? divideRoundingUp(q.nanos, 1_000_000n) : -divideRoundingUp(-q.nanos, 1_000_000n);
}

/** `Quantity.Value()`: the value in units, rounded away from zero (`100m` → 1). */
export function unitValue(q: Quantity): bigint {
  return q.nanos >= 0n ? divideRoundingUp(q.nanos, NANO) : -divideRoundingUp(-q.nanos, NANO);
}

/** A quantity of `milli` thousandths, e.g. millicores (`resource.NewMilliQuantity`). */
export function quantityFromMilli(milli: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nanos: BigInt(milli) * 1_000_000n, format };
}

/** A quantity of whole units, e.g. bytes (`resource.NewQuantity`). */
export function quantityFromUnits(units: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nanos: BigInt(units) * NANO, format };
}
