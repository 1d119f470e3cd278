/**
 * The message table of {@link MESSAGE_TABLE}, parsed once into lookups by full message name
 * (`core.v1.Pod`) and field number.
 */
import { MESSAGE_TABLE } from './messages.ts';

export type ScalarType = 'string' | 'bool' | 'int32' | 'int64' | 'double' | 'bytes';

/** How a field appears in JSON; see the presence rules in messages.ts. */
export type Presence = 'omitempty' | 'pointer' | 'always' | 'pointer-or-null';

export interface FieldSpec {
  /** The JSON property; for an inline struct, its proto name (the JSON takes its fields). */
  readonly json: string;
  readonly proto: string;
  readonly number: number;
  /** Set for scalar fields. */
  readonly scalar?: ScalarType;
  /** Set for message fields: the full name (`meta.v1.ObjectMeta`). */
  readonly message?: string;
  readonly shape: 'single' | 'repeated' | 'map';
  readonly presence: Presence;
  readonly inline: boolean;
}

export interface MessageSpec {
  /** Full name: package and message (`core.v1.Pod`). */
  readonly name: string;
  /** In Go declaration order, which is the JSON order. */
  readonly fields: readonly FieldSpec[];
  readonly byNumber: ReadonlyMap<number, FieldSpec>;
}

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'bool', 'int32', 'int64', 'double', 'bytes']);
const FIELD = /^(\^)?([$A-Za-z][\w$-]*)(?:\(([A-Za-z]\w*)\))?\s+(\d+)\s+([A-Za-z][\w.]*)(\[\]|\{\})?(\?)?(!)?$/;

let parsed: ReadonlyMap<string, MessageSpec> | undefined;

/**
 * Every message of the table, by full name.
 * @throws Error when the table itself is malformed (a programming error, caught by its unit test)
 */
export function allMessages(): ReadonlyMap<string, MessageSpec> {
  parsed ??= parseTable(MESSAGE_TABLE);
  return parsed;
}

/** The message with this full name (`apps.v1.Deployment`), or undefined. */
export function messageSpec(name: string): MessageSpec | undefined {
  return allMessages().get(name);
}

/** Parses a table in the format messages.ts describes; exported for tests of the format itself. */
export function parseTable(table: Readonly<Record<string, Readonly<Record<string, string>>>>): ReadonlyMap<string, MessageSpec> {
  const out = new Map<string, MessageSpec>();
  for (const [pkg, messages] of Object.entries(table)) {
    for (const [message, text] of Object.entries(messages)) {
      const name = `${pkg}.${message}`;
      const fields = text
        .split(';')
        .map((f) => f.trim().replace(/\s+/g, ' '))
        .filter((f) => f !== '')
        .map((f) => parseField(f, pkg, name));
      const byNumber = new Map<number, FieldSpec>();
      const jsonNames = new Set<string>();
      for (const f of fields) {
        if (byNumber.has(f.number)) throw new Error(`${name}: field number ${f.number} is used twice`);
        if (!f.inline && jsonNames.has(f.json)) throw new Error(`${name}: JSON name ${f.json} is used twice`);
        byNumber.set(f.number, f);
        jsonNames.add(f.json);
      }
      out.set(name, { name, fields, byNumber });
    }
  }
  for (const m of out.values()) {
    for (const f of m.fields) {
      if (f.message !== undefined && !out.has(f.message)) throw new Error(`${m.name}.${f.proto}: unknown message ${f.message}`);
      if (f.inline && (f.message === undefined || f.shape !== 'single')) throw new Error(`${m.name}.${f.proto}: only a single message can be inline`);
    }
  }
  return out;
}

function parseField(text: string, pkg: string, owner: string): FieldSpec {
  const m = FIELD.exec(text);
  if (m === null) throw new Error(`${owner}: cannot read field "${text}"`);
  const [, caret, json = '', proto, number = '', type = '', container, pointer, always] = m;
  const isScalar = SCALARS.has(type);
  const presence: Presence = pointer !== undefined ? (always !== undefined ? 'pointer-or-null' : 'pointer') : always !== undefined ? 'always' : 'omitempty';
  return {
    json,
    proto: proto ?? json,
    number: Number(number),
    ...(isScalar ? { scalar: type as ScalarType } : { message: type.includes('.') ? type : `${pkg}.${type}` }),
    shape: container === '[]' ? 'repeated' : container === '{}' ? 'map' : 'single',
    presence,
    inline: caret !== undefined,
  };
}
