/**
 * Field selectors, as apimachinery's `fields` package defines them: the `?fieldSelector=` syntax
 * (`fields.ParseSelector`: `a=b`, `a==b`, `a!=b`, comma-separated, `\` escaping `\`, `,` and `=` in
 * values), matching against the fields a resource exposes, and the check that every field named
 * is one the resource supports.
 */
import { apiErrors } from '../errors.ts';
import { compareStrings } from '../compare.ts';

/** `=` (also written `==`) or `!=`. */
export type FieldOperator = '=' | '!=';

/** One term of a field selector; a selector is the AND of its terms. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  readonly value: string;
}

/** The selectable fields of one object, e.g. `{ 'metadata.name': 'web-1', 'spec.nodeName': 'edge-7' }`. */
export type Fields = Readonly<Record<string, string>>;

/** The fields every resource can be selected by. */
export const DEFAULT_SELECTABLE_FIELDS: readonly string[] = ['metadata.name', 'metadata.namespace'];

/** An immutable field selector, its terms sorted as apimachinery sorts them. */
export class FieldSelector {
  static readonly #everything = new FieldSelector([]);

  readonly #requirements: readonly FieldRequirement[];

  private constructor(requirements: readonly FieldRequirement[]) {
    this.#requirements = requirements;
  }

  /** The selector that matches every object (the empty string). */
  static everything(): FieldSelector {
    return FieldSelector.#everything;
  }

  /** Matches objects whose fields have every value of `set` (`fields.SelectorFromSet`). */
  static fromSet(set: Fields): FieldSelector {
    const terms = Object.entries(set).map(([field, value]): FieldRequirement => ({ field, operator: '=', value }));
    return FieldSelector.fromRequirements(terms.sort((a, b) => compareStrings(termString(a), termString(b))));
  }

  /** A selector of exactly these terms, in the order given (which {@link FieldSelector.toString} keeps). */
  static fromRequirements(requirements: readonly FieldRequirement[]): FieldSelector {
    return requirements.length === 0 ? FieldSelector.#everything : new FieldSelector(requirements.map((r) => ({ ...r })));
  }

  /** True when the selector does not restrict anything. */
  isEmpty(): boolean {
    return this.#requirements.length === 0;
  }

  /** The terms, in canonical order. */
  requirements(): readonly FieldRequirement[] {
    return this.#requirements;
  }

  /** True when `fields` satisfy every term; a field the object lacks compares as `""`. */
  matches(fields: Fields): boolean {
    return this.#requirements.every((r) => {
      // Object.hasOwn: a field named "constructor" must not find Object.prototype.
      const actual = Object.hasOwn(fields, r.field) ? fields[r.field]! : '';
      return r.operator === '=' ? actual === r.value : actual !== r.value;
    });
  }

  /**
   * The value `field` must have for an object to match, when a `field=value` term pins it; undefined
   * otherwise. Lets a caller answer from an index (e.g. pods by `spec.nodeName`).
   */
  requiresExactMatch(field: string): string | undefined {
    return this.#requirements.find((r) => r.field === field && r.operator === '=')?.value;
  }

  /** The canonical string form (values escaped), which {@link parseFieldSelector} reads back. */
  toString(): string {
    return this.#requirements.map(termString).join(',');
  }
}

/** `fields.EscapeValue`: the inverse of {@link unescapeValue}. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}

function termString(r: FieldRequirement): string {
  return `${r.field}${r.operator}${escapeFieldValue(r.value)}`;
}

/** Splits on commas that a backslash does not escape, keeping the backslashes. */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** Operators in the order they are tried at each position, so `!=` and `==` win over `=`. */
const TERM_OPERATORS = ['!=', '==', '='] as const;

/** The first operator in `term` splits it; field names cannot be escaped. */
function splitTerm(term: string): { field: string; operator: (typeof TERM_OPERATORS)[number]; rawValue: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const operator of TERM_OPERATORS) {
      if (term.startsWith(operator, i)) return { field: term.slice(0, i), operator, rawValue: term.slice(i + operator.length) };
    }
  }
  return undefined;
}

/** `fields.UnescapeValue`; returns the error message when the value is malformed. */
function unescapeValue(raw: string): { value: string } | { error: string } {
  let value = '';
  let escaped = false;
  for (const c of raw) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') return { error: `invalid field selector: invalid escape sequence: \\${c}` };
      value += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      // Go formats the rune with %v, which prints its code point: "...value: 61" for '='.
      return { error: `invalid field selector: unescaped character in value: ${c.codePointAt(0)!}` };
    } else {
      value += c;
    }
  }
  if (escaped) return { error: 'invalid field selector: invalid escape sequence: \\' };
  return { value };
}

/**
 * Parses the `fieldSelector` query parameter exactly as `fields.ParseSelector` does. Whitespace is
 * not trimmed: `a = b` names the field `"a "`, which {@link validateFieldSelector} then rejects.
 *
 * @throws ApiError 400 BadRequest, e.g. `invalid selector: 'x'; can't understand 'x'`.
 */
export function parseFieldSelector(selector: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(selector).sort(compareStrings)) {
    if (term === '') continue;
    const split = splitTerm(term);
    if (split === undefined) throw apiErrors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const unescaped = unescapeValue(split.rawValue);
    if ('error' in unescaped) throw apiErrors.badRequest(unescaped.error);
    requirements.push({ field: split.field, operator: split.operator === '!=' ? '!=' : '=', value: unescaped.value });
  }
  // Terms stay in the order of their sorted source text, as apimachinery keeps them.
  return FieldSelector.fromRequirements(requirements);
}

/**
 * Checks that every field `selector` names is one the resource supports, as the API server's
 * field label conversion does.
 *
 * @throws ApiError 400 BadRequest `field label not supported: <field>` for the first unsupported field.
 */
export function validateFieldSelector(selector: FieldSelector, supported: Iterable<string>): void {
  const known = new Set(supported);
  for (const r of selector.requirements()) {
    if (!known.has(r.field)) throw apiErrors.badRequest(`field label not supported: ${r.field}`);
  }
}
