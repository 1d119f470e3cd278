/**
 * The subset of kubectl's JSONPath that CRD printer columns use: fields (`.spec.replicas`,
 * `['app.kubernetes.io/name']`, `kubernetes\.io/x`), indexes and slices (`[0]`, `[-1]`, `[1:3]`),
 * wildcards (`[*]`, `.*`), recursive descent (`..name`) and filters
 * (`[?(@.type=="Ready")]`, `[?(@.port>80)]`, `[?(@.ready)]`). Missing keys yield no result rather
 * than an error, as Kubernetes evaluates printer columns with `AllowMissingKeys(true)`.
 */
import { PlatformError } from '../../errors/platform-error.ts';
import { isJsonObject } from '../object.ts';

type Literal = string | number | boolean | null;
type Comparison = '==' | '!=' | '<' | '<=' | '>' | '>=';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'recursive'; name: string | undefined }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number }
  | { kind: 'filter'; path: Step[]; op: Comparison | undefined; value: Literal };

/** A path that is not in the supported subset; a bad request when it comes from a user. */
export class JsonPathSyntaxError extends PlatformError {
  readonly expression: string;

  constructor(expr: string, why: string) {
    super('API_BAD_REQUEST', `unrecognized JSONPath ${JSON.stringify(expr)}: ${why}`);
    this.expression = expr;
  }
}

/** A parsed JSONPath that can be evaluated many times. */
export interface CompiledJsonPath {
  readonly source: string;
  /** Every value the path selects in `root`, in document order. */
  evaluate(root: unknown): unknown[];
}

const FIELD_END = new Set(['.', '[', ']', '(', ')', '=', '!', '<', '>', ' ', '}']);

class Parser {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  fail(why: string): never {
    throw new JsonPathSyntaxError(this.#src, why);
  }

  get done(): boolean {
    return this.#pos >= this.#src.length;
  }

  peek(offset = 0): string | undefined {
    return this.#src[this.#pos + offset];
  }

  eat(s: string): boolean {
    if (!this.#src.startsWith(s, this.#pos)) return false;
    this.#pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected ${JSON.stringify(s)} at offset ${this.#pos}`);
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.#pos++;
  }

  /** A field name; `\.` escapes a dot that belongs to the name. */
  fieldName(): string {
    let name = '';
    while (!this.done) {
      const c = this.peek()!;
      if (c === '\\' && this.peek(1) !== undefined) {
        name += this.peek(1);
        this.#pos += 2;
        continue;
      }
      if (FIELD_END.has(c)) break;
      name += c;
      this.#pos++;
    }
    return name;
  }

  quoted(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted string');
    this.#pos++;
    let s = '';
    while (!this.done && this.peek() !== quote) {
      if (this.peek() === '\\' && this.peek(1) !== undefined) this.#pos++;
      s += this.peek();
      this.#pos++;
    }
    this.expect(quote);
    return s;
  }

  integer(): number | undefined {
    const m = /^-?\d+/.exec(this.#src.slice(this.#pos));
    if (m === null) return undefined;
    this.#pos += m[0].length;
    return Number(m[0]);
  }

  literal(): Literal {
    this.skipSpaces();
    const c = this.peek();
    if (c === "'" || c === '"') return this.quoted();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(this.#src.slice(this.#pos));
    if (m === null) this.fail(`expected a value at offset ${this.#pos}`);
    this.#pos += m[0].length;
    return m[0] === 'true' ? true : m[0] === 'false' ? false : m[0] === 'null' ? null : Number(m[0]);
  }

  /** Steps until the end, or until `)` inside a filter. */
  steps(inFilter: boolean): Step[] {
    const steps: Step[] = [];
    for (;;) {
      if (this.done || (inFilter && [')', ' ', '=', '!', '<', '>'].includes(this.peek()!))) return steps;
      if (this.eat('..')) {
        if (this.eat('*')) steps.push({ kind: 'recursive', name: undefined });
        else if (this.peek() === '[') steps.push({ kind: 'recursive', name: undefined });
        else steps.push({ kind: 'recursive', name: this.fieldName() });
      } else if (this.eat('.')) {
        if (this.eat('*')) steps.push({ kind: 'wildcard' });
        else {
          const name = this.fieldName();
          // `.` alone selects the whole object.
          if (name !== '') steps.push({ kind: 'field', name });
        }
      } else if (this.eat('[')) {
        steps.push(this.bracket());
      } else {
        this.fail(`unexpected ${JSON.stringify(this.peek())} at offset ${this.#pos}`);
      }
    }
  }

  bracket(): Step {
    this.skipSpaces();
    let step: Step;
    const c = this.peek();
    if (c === '*') {
      this.#pos++;
      step = { kind: 'wildcard' };
    } else if (c === "'" || c === '"') {
      step = { kind: 'field', name: this.quoted() };
    } else if (c === '?') {
      this.#pos++;
      this.expect('(');
      this.skipSpaces();
      this.expect('@');
      const path = this.steps(true);
      this.skipSpaces();
      let op: Comparison | undefined;
      let value: Literal = null;
      for (const candidate of ['==', '!=', '<=', '>=', '<', '>'] as const) {
        if (this.eat(candidate)) {
          op = candidate;
          value = this.literal();
          break;
        }
      }
      this.skipSpaces();
      this.expect(')');
      step = { kind: 'filter', path, op, value };
    } else {
      const start = this.integer();
      if (this.eat(':')) {
        const end = this.integer();
        const stepSize = this.eat(':') ? (this.integer() ?? 1) : 1;
        step = { kind: 'slice', start, end, step: stepSize };
      } else if (start === undefined) {
        this.fail(`unexpected ${JSON.stringify(c)} in brackets`);
      } else {
        step = { kind: 'index', index: start };
      }
    }
    this.skipSpaces();
    this.expect(']');
    return step;
  }
}

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isJsonObject(v)) return Object.values(v);
  return [];
}

function descendants(v: unknown, out: unknown[]): void {
  out.push(v);
  for (const c of children(v)) descendants(c, out);
}

function compare(a: unknown, op: Comparison, b: Literal): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default: {
      if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
      const x = a;
      const y = b as number | string;
      return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
    }
  }
}

function apply(steps: readonly Step[], roots: unknown[]): unknown[] {
  let current = roots;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      switch (step.kind) {
        case 'field':
          if (isJsonObject(v) && Object.hasOwn(v, step.name)) next.push(v[step.name]);
          break;
        case 'wildcard':
          next.push(...children(v));
          break;
        case 'recursive': {
          const all: unknown[] = [];
          descendants(v, all);
          for (const d of all) {
            if (step.name === undefined) next.push(...(d === v ? [] : [d]));
            else if (isJsonObject(d) && Object.hasOwn(d, step.name)) next.push(d[step.name]);
          }
          break;
        }
        case 'index':
          if (Array.isArray(v)) {
            const i = step.index < 0 ? v.length + step.index : step.index;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case 'slice':
          if (Array.isArray(v)) {
            const norm = (n: number | undefined, dflt: number): number => Math.min(Math.max(n === undefined ? dflt : n < 0 ? v.length + n : n, 0), v.length);
            for (let i = norm(step.start, 0); i < norm(step.end, v.length); i += Math.max(step.step, 1)) next.push(v[i]);
          }
          break;
        case 'filter':
          for (const item of Array.isArray(v) ? v : [v]) {
            const found = apply(step.path, [item]);
            const keep = step.op === undefined ? found.length > 0 && found[0] !== false && found[0] !== null : found.some((f) => compare(f, step.op!, step.value));
            if (keep) next.push(item);
          }
          break;
      }
    }
    current = next;
  }
  return current;
}

/**
 * Parses a JSONPath such as `.status.conditions[?(@.type=="Ready")].status`, with or without the
 * surrounding `{}` kubectl templates use.
 *
 * @throws JsonPathSyntaxError when the path is outside the supported subset.
 */
export function compileJsonPath(expr: string): CompiledJsonPath {
  let src = expr.trim();
  if (src.startsWith('{') && src.endsWith('}')) src = src.slice(1, -1).trim();
  if (src.startsWith('$')) src = src.slice(1);
  const parser = new Parser(src);
  if (!src.startsWith('.') && !src.startsWith('[')) parser.fail('must start with "." or "["');
  const steps = parser.steps(false);
  return { source: expr, evaluate: (root) => apply(steps, [root]) };
}
