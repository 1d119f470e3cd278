/**
 * Label selectors, as apimachinery's `labels` package defines them: the string syntax of
 * `?labelSelector=` (`labels.Parse`), the structured `metav1.LabelSelector` of workload specs
 * (`metav1.LabelSelectorAsSelector`), matching, and the canonical string form.
 */
import type { LabelSelector as MetaLabelSelector } from 'kubernetes-types/meta/v1.d.ts';
import { apiErrors } from '../errors.ts';
import { fieldErrors, type FieldError } from '../field-error.ts';
import { labelValueErrors, qualifiedNameErrors } from './label-validation.ts';
import { compareStrings } from '../compare.ts';

/** `selection.Operator` values, spelled as apimachinery spells them. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

/** One condition on one label; a selector is the AND of its requirements. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** One value for `=`, `==`, `!=`, `gt`, `lt`; one or more for `in`/`notin`; none for `exists`/`!`. */
  readonly values: readonly string[];
}

/** The labels of an object. */
export type Labels = Readonly<Record<string, string>>;

/**
 * An immutable label selector. Requirements are kept sorted by key, as apimachinery sorts them, so
 * that {@link LabelSelector.toString} is canonical.
 */
export class LabelSelector {
  static readonly #everything = new LabelSelector([], false);
  static readonly #nothing = new LabelSelector([], true);

  readonly #requirements: readonly LabelRequirement[];
  readonly #selectsNothing: boolean;

  private constructor(requirements: readonly LabelRequirement[], selectsNothing: boolean) {
    this.#requirements = requirements;
    this.#selectsNothing = selectsNothing;
  }

  /** The selector that matches every object (`labels.Everything()`, the empty string). */
  static everything(): LabelSelector {
    return LabelSelector.#everything;
  }

  /** The selector that matches no object (`labels.Nothing()`, what a `null` metav1 selector means). */
  static nothing(): LabelSelector {
    return LabelSelector.#nothing;
  }

  /** Matches objects whose labels include every pair of `set` (`labels.SelectorFromSet`); not validated. */
  static fromSet(set: Labels): LabelSelector {
    return LabelSelector.fromRequirements(Object.entries(set).map(([key, value]) => ({ key, operator: '=', values: [value] })));
  }

  /** A selector from requirements that are already valid (e.g. built by code, not by a user). */
  static fromRequirements(requirements: readonly LabelRequirement[]): LabelSelector {
    if (requirements.length === 0) return LabelSelector.#everything;
    // Array.prototype.sort is stable, so requirements on one key keep their given order.
    const sorted = requirements.map((r) => ({ key: r.key, operator: r.operator, values: [...r.values] })).sort((a, b) => compareStrings(a.key, b.key));
    return new LabelSelector(sorted, false);
  }

  /** True when the selector does not restrict anything (and so matches everything). */
  isEmpty(): boolean {
    return !this.#selectsNothing && this.#requirements.length === 0;
  }

  /** True for {@link LabelSelector.nothing}. */
  get selectsNothing(): boolean {
    return this.#selectsNothing;
  }

  /** The requirements, sorted by key. Empty for both everything and nothing. */
  requirements(): readonly LabelRequirement[] {
    return this.#requirements;
  }

  /** True when `labels` satisfy every requirement. */
  matches(labels: Labels): boolean {
    if (this.#selectsNothing) return false;
    return this.#requirements.every((r) => requirementMatches(r, labels));
  }

  /**
   * The value `key` must have for an object to match, when the selector pins it to exactly one
   * value (`key=v`, `key==v` or `key in (v)`); undefined otherwise. Lets callers use an index.
   */
  requiresExactMatch(key: string): string | undefined {
    const r = this.#requirements.find((req) => req.key === key);
    if (r === undefined) return undefined;
    if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
    return undefined;
  }

  /** The canonical string form, which {@link parseLabelSelector} reads back; `""` for everything and nothing. */
  toString(): string {
    return this.#requirements.map(requirementToString).join(',');
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits, within int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  // Object.hasOwn, not `in` or indexing: label keys such as "constructor" must not find Object.prototype.
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value!);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(value!);
      const wanted = parseInt64(r.values[0]!);
      if (actual === undefined || wanted === undefined) return false;
      return r.operator === 'gt' ? actual > wanted : actual < wanted;
    }
  }
}

function requirementToString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? r.values[0]! : [...r.values].sort(compareStrings).join(',');
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
      return `${r.key} in (${values})`;
    case 'notin':
      return `${r.key} notin (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    case '=':
    case '==':
    case '!=':
      return `${r.key}${r.operator}${values}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The string syntax. A port of apimachinery's lexer and recursive-descent parser, kept close to
// the original so that what it accepts, and the error text of what it rejects, are the same.
// ---------------------------------------------------------------------------------------------

type TokenKind = 'end' | 'identifier' | ')' | ',' | '!' | '==' | '=' | '>' | 'in' | '<' | '!=' | 'notin' | '(';

interface Token {
  readonly kind: TokenKind;
  readonly literal: string;
}

const LITERAL_TOKENS: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['in', 'in'],
  ['<', '<'],
  ['!=', '!='],
  ['notin', 'notin'],
  ['(', '('],
]);

/** The binary operators, in the order apimachinery lists them in "expected: ..." errors. */
const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

/** Go's lexer reads a NUL byte at the end of input, and so also stops at a NUL inside it. */
const EOF = '\0';

function tokenize(input: string): Token[] {
  let pos = 0;
  const read = (): string => (pos < input.length ? input[pos++]! : (pos++, EOF));
  const unread = (): void => {
    pos--;
  };

  const scanIdOrKeyword = (): Token => {
    let buffer = '';
    for (;;) {
      const ch = read();
      if (ch === EOF) break;
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        unread();
        break;
      }
      buffer += ch;
    }
    const keyword = LITERAL_TOKENS.get(buffer);
    return keyword !== undefined ? { kind: keyword, literal: buffer } : { kind: 'identifier', literal: buffer };
  };

  // The longest run of special symbols that still forms an operator: "!=" beats "!", "==" beats "=".
  const scanSpecialSymbol = (): Token => {
    let buffer = '';
    let last: Token | undefined;
    for (;;) {
      const ch = read();
      if (ch === EOF) break;
      if (!isSpecialSymbol(ch)) {
        unread();
        break;
      }
      buffer += ch;
      const kind = LITERAL_TOKENS.get(buffer);
      if (kind !== undefined) last = { kind, literal: buffer };
      else if (last !== undefined) {
        unread();
        break;
      }
    }
    // Every single special symbol is a token, so `last` is always set here.
    return last!;
  };

  const tokens: Token[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    let token: Token;
    if (ch === EOF) token = { kind: 'end', literal: '' };
    else {
      unread();
      token = isSpecialSymbol(ch) ? scanSpecialSymbol() : scanIdOrKeyword();
    }
    tokens.push(token);
    if (token.kind === 'end') return tokens;
  }
}

/** A syntax problem; {@link parseLabelSelector} turns it into a 400 with the same text. */
class SyntaxProblem extends Error {}

/** Where a token is read: in value position `in`/`notin` are ordinary identifiers (`x in (in)`). */
type Context = 'keyAndOperator' | 'values';

class Parser {
  readonly #tokens: Token[];
  #position = 0;

  constructor(input: string) {
    this.#tokens = tokenize(input);
  }

  #token(index: number, context: Context): Token {
    // Past the end, keep answering the end token (the grammar never reads further, but be safe).
    const t = this.#tokens[Math.min(index, this.#tokens.length - 1)]!;
    return context === 'values' && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'identifier', literal: t.literal } : t;
  }

  lookahead(context: Context): Token {
    return this.#token(this.#position, context);
  }

  consume(context: Context): Token {
    return this.#token(this.#position++, context);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const t = this.lookahead('values');
      if (t.kind === 'end') return requirements;
      if (t.kind !== 'identifier' && t.kind !== '!') throw new SyntaxProblem(`found '${t.literal}', expected: !, identifier, or 'end of string'`);
      try {
        requirements.push(this.parseRequirement());
      } catch (err) {
        if (err instanceof SyntaxProblem) throw new SyntaxProblem(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const after = this.consume('values');
      if (after.kind === 'end') return requirements;
      if (after.kind !== ',') throw new SyntaxProblem(`found '${after.literal}', expected: ',' or 'end of string'`);
      const next = this.lookahead('values');
      if (next.kind !== 'identifier' && next.kind !== '!') throw new SyntaxProblem(`found '${next.literal}', expected: identifier after ','`);
    }
  }

  parseRequirement(): LabelRequirement {
    const { key, unary } = this.parseKeyAndInferOperator();
    if (unary !== undefined) return newRequirement(key, unary, []);
    const operator = this.parseOperator();
    const values = operator === 'in' || operator === 'notin' ? this.parseValues() : this.parseExactValue();
    // apimachinery collects values in a set and lists them sorted.
    return newRequirement(key, operator, [...values].sort(compareStrings));
  }

  parseKeyAndInferOperator(): { key: string; unary: 'exists' | '!' | undefined } {
    let t = this.consume('values');
    let unary: 'exists' | '!' | undefined;
    if (t.kind === '!') {
      unary = '!';
      t = this.consume('values');
    }
    if (t.kind !== 'identifier') throw new SyntaxProblem(`found '${t.literal}', expected: identifier`);
    const keyErrors = qualifiedNameErrors(t.literal);
    // The parser validates keys with a nil field path, which Go prints as "<nil>".
    if (keyErrors.length > 0) throw new SyntaxProblem(invalidValue('<nil>', t.literal, keyErrors.join('; ')));
    const next = this.lookahead('values').kind;
    if ((next === 'end' || next === ',') && unary === undefined) unary = 'exists';
    return { key: t.literal, unary };
  }

  parseOperator(): LabelOperator {
    const t = this.consume('keyAndOperator');
    switch (t.kind) {
      case 'in':
        return 'in';
      case 'notin':
        return 'notin';
      case '=':
        return '=';
      case '==':
        return '==';
      case '!=':
        return '!=';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      default:
        throw new SyntaxProblem(`found '${t.literal}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  parseValues(): Set<string> {
    const open = this.consume('values');
    if (open.kind !== '(') throw new SyntaxProblem(`found '${open.literal}' expected: '('`);
    const t = this.lookahead('values');
    if (t.kind === 'identifier' || t.kind === ',') {
      const values = this.parseIdentifiersList();
      // parseIdentifiersList returns only in front of ')'.
      this.consume('values');
      return values;
    }
    if (t.kind === ')') {
      this.consume('values');
      return new Set(['']);
    }
    throw new SyntaxProblem(`found '${t.literal}', expected: ',', ')' or identifier`);
  }

  /** A comma-separated list in which empty entries are the empty value: `(a,,b)`, `(,a)`, `(a,)`. */
  parseIdentifiersList(): Set<string> {
    const values = new Set<string>();
    for (;;) {
      const t = this.consume('values');
      if (t.kind === 'identifier') {
        values.add(t.literal);
        const next = this.lookahead('values');
        if (next.kind === ',') continue;
        if (next.kind === ')') return values;
        throw new SyntaxProblem(`found '${next.literal}', expected: ',' or ')'`);
      }
      if (t.kind === ',') {
        if (values.size === 0) values.add('');
        const next = this.lookahead('values');
        if (next.kind === ')') {
          values.add('');
          return values;
        }
        if (next.kind === ',') {
          this.consume('values');
          values.add('');
        }
        continue;
      }
      throw new SyntaxProblem(`found '${t.literal}', expected: ',', or identifier`);
    }
  }

  parseExactValue(): Set<string> {
    const next = this.lookahead('values');
    if (next.kind === 'end' || next.kind === ',') return new Set(['']);
    const t = this.consume('values');
    if (t.kind === 'identifier') return new Set([t.literal]);
    throw new SyntaxProblem(`found '${t.literal}', expected: identifier`);
  }
}

/** Go's `field.Invalid(...).Error()` for a string value. */
function invalidValue(field: string, value: string, detail: string): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

/** `utilerrors.NewAggregate(errs).Error()`: one message alone, several de-duplicated in brackets. */
function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

/**
 * `labels.NewRequirement` for what the parser produces (keys are already valid, `in` lists are never
 * empty): checks the values, with the field paths apimachinery reports.
 */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const problems: string[] = [];
  if (operator === 'gt' || operator === 'lt') {
    values.forEach((v, i) => {
      if (parseInt64(v) === undefined) problems.push(invalidValue(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
    });
  }
  values.forEach((v, i) => {
    const errs = labelValueErrors(v);
    if (errs.length > 0) problems.push(invalidValue(`values[${i}][${key}]`, v, errs.join('; ')));
  });
  if (problems.length > 0) throw new SyntaxProblem(aggregate(problems));
  return { key, operator, values };
}

/**
 * Parses the `labelSelector` query parameter exactly as `labels.Parse` does, e.g.
 * `app=web,tier in (a,b),!canary,version>3`. The empty string selects everything.
 *
 * @throws ApiError 400 BadRequest with Kubernetes' message, e.g.
 *   `unable to parse requirement: found 'x', expected: in, notin, =, ==, !=, gt, lt`.
 */
export function parseLabelSelector(selector: string): LabelSelector {
  let requirements: LabelRequirement[];
  try {
    requirements = new Parser(selector).parse();
  } catch (err) {
    if (err instanceof SyntaxProblem) throw apiErrors.badRequest(err.message, { cause: err });
    throw err;
  }
  return LabelSelector.fromRequirements(requirements);
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector, the structured form in Deployment, ReplicaSet, Service... specs.
// ---------------------------------------------------------------------------------------------

const META_OPERATORS: Readonly<Record<string, LabelOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * `metav1validation.ValidateLabelSelector`: what is wrong with `selector`, reported under `path`
 * (e.g. `spec.selector`). `null`/`undefined` is valid (it selects nothing).
 */
export function validateLabelSelector(selector: MetaLabelSelector | null | undefined, path: string): FieldError[] {
  if (selector == null) return [];
  const errors: FieldError[] = [];
  const matchLabelsPath = `${path}.matchLabels`;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    for (const msg of qualifiedNameErrors(key)) errors.push(fieldErrors.invalid(matchLabelsPath, key, msg));
    for (const msg of labelValueErrors(value)) errors.push(fieldErrors.invalid(matchLabelsPath, value, msg));
  }
  (selector.matchExpressions ?? []).forEach((expr, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errors.push(fieldErrors.required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errors.push(fieldErrors.forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errors.push(fieldErrors.invalid(`${at}.operator`, expr.operator, 'not a valid selector operator'));
    }
    for (const msg of qualifiedNameErrors(expr.key)) errors.push(fieldErrors.invalid(`${at}.key`, expr.key, msg));
    values.forEach((v, j) => {
      for (const msg of labelValueErrors(v)) errors.push(fieldErrors.invalid(`${at}.values[${j}]`, v, msg));
    });
  });
  return errors;
}

/** The outcome of {@link labelSelectorFromMeta}. */
export type LabelSelectorConversion = { readonly ok: true; readonly selector: LabelSelector } | { readonly ok: false; readonly errors: readonly FieldError[] };

/**
 * `metav1.LabelSelectorAsSelector`: `null`/`undefined` selects nothing, `{}` selects everything,
 * otherwise the AND of `matchLabels` (as `key=value`) and `matchExpressions`. Invalid selectors
 * yield the field errors of {@link validateLabelSelector} under `path`.
 */
export function labelSelectorFromMeta(selector: MetaLabelSelector | null | undefined, path = 'selector'): LabelSelectorConversion {
  if (selector == null) return { ok: true, selector: LabelSelector.nothing() };
  const errors = validateLabelSelector(selector, path);
  if (errors.length > 0) return { ok: false, errors };
  const requirements: LabelRequirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ key, operator: '=', values: [value] }));
  for (const expr of selector.matchExpressions ?? []) {
    // Validation above guarantees a known operator.
    requirements.push({ key: expr.key, operator: META_OPERATORS[expr.operator]!, values: [...(expr.values ?? [])] });
  }
  return { ok: true, selector: LabelSelector.fromRequirements(requirements) };
}
