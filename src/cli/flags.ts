import { readFileSync } from 'node:fs';
import type { parse } from 'yaml';
import { PlatformError } from '../errors/platform-error.ts';
import { isJsonObject } from '../api/object.ts';

/**
 * The YAML parser, loaded on the first --config: every process reads flags, few read a config file,
 * and the parser is about 10 MB resident (an edge node has 70 MB in all).
 */
function parseYaml(text: string): unknown {
  // node:module too, as it loads Node's source-map support with it.
  const { createRequire } = process.getBuiltinModule('node:module');
  const yaml = createRequire(import.meta.url)('yaml') as { parse: typeof parse };
  return yaml.parse(text);
}

/** One command-line flag, which is also a config-file key and an environment variable. */
export interface FlagSpec {
  readonly name: string;
  readonly type: 'string' | 'int' | 'bool' | 'list' | 'duration';
  readonly description: string;
  /** Shown in --help and used when nothing else sets the flag. */
  readonly default?: string | number | boolean | readonly string[];
  /** Checks a value; returns an error text or undefined. */
  readonly check?: (value: unknown) => string | undefined;
}

/** A flag value after parsing: strings, integers (durations in milliseconds), booleans, lists. */
export type FlagValue = string | number | boolean | string[];

/** The command line could not be understood; the message says which flag and why. */
export class UsageError extends PlatformError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `15m`, `24h`, `7d` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * DURATION_MS[m[2]!]!);
}

function convert(spec: FlagSpec, raw: unknown, source: string): FlagValue {
  const where = `${source} ${spec.name}`;
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw new UsageError(`${where}: expected a non-empty string`);
      return raw;
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new UsageError(`${where}: expected an integer, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`${where}: expected true or false, got ${JSON.stringify(raw)}`);
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (items === undefined || !items.every((i) => typeof i === 'string')) throw new UsageError(`${where}: expected a comma-separated list`);
      return items.map((i: string) => i.trim()).filter((i: string) => i !== '');
    }
    case 'duration': {
      const ms = typeof raw === 'string' ? parseDuration(raw) : undefined;
      if (ms === undefined) throw new UsageError(`${where}: expected a duration such as 30s, 15m or 24h, got ${JSON.stringify(raw)}`);
      return ms;
    }
  }
}

function envName(prefix: string, flag: string): string {
  return `${prefix}_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Resolves flags from, lowest to highest precedence: defaults, a YAML config file (`--config`,
 * keys equal to flag names), environment variables (`<PREFIX>_<FLAG_NAME>`), the command line.
 * Unknown flags and config keys, missing values and bad values are UsageErrors naming the flag.
 * @returns the values and the positional arguments.
 */
export function resolveFlags(specs: readonly FlagSpec[], argv: readonly string[], env: NodeJS.ProcessEnv, envPrefix: string): { values: Record<string, FlagValue>; positionals: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: Record<string, FlagValue> = {};
  for (const s of specs) {
    if (s.default === undefined) continue;
    values[s.name] = s.type === 'duration' && typeof s.default === 'string' ? convert(s, s.default, 'default of') : ((Array.isArray(s.default) ? [...(s.default as string[])] : s.default) as FlagValue);
  }

  const cli: [FlagSpec, unknown][] = [];
  const positionals: string[] = [];
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      if (arg === '--') positionals.push(...argv.slice(i + 1));
      else positionals.push(arg);
      if (arg === '--') break;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (name === 'config') {
      configFile = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (configFile === undefined) throw new UsageError('--config needs a file name');
      continue;
    }
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown flag --${name}`);
    let raw: unknown;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.type === 'bool') raw = true;
    else {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`flag --${name} needs a value`);
    }
    cli.push([spec, raw]);
  }

  if (configFile !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read config file ${configFile}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (doc !== null && doc !== undefined) {
      if (!isJsonObject(doc)) throw new UsageError(`config file ${configFile}: expected a mapping of flag names to values`);
      for (const [k, v] of Object.entries(doc)) {
        const spec = byName.get(k);
        if (spec === undefined) throw new UsageError(`config file ${configFile}: unknown key ${k}`);
        values[k] = convert(spec, typeof v === 'number' && spec.type !== 'int' ? String(v) : v, `config file ${configFile}:`);
      }
    }
  }
  for (const spec of specs) {
    const v = env[envName(envPrefix, spec.name)];
    if (v !== undefined && v !== '') values[spec.name] = convert(spec, v, `environment ${envName(envPrefix, spec.name)} for`);
  }
  const lists = new Set<string>();
  for (const [spec, raw] of cli) {
    const v = convert(spec, raw, 'flag --');
    // Repeated list flags add up (`--tls-san a --tls-san b`).
    if (spec.type === 'list' && lists.has(spec.name)) values[spec.name] = [...(values[spec.name] as string[]), ...(v as string[])];
    else values[spec.name] = v;
    if (spec.type === 'list') lists.add(spec.name);
  }
  for (const spec of specs) {
    const problem = values[spec.name] === undefined ? undefined : spec.check?.(values[spec.name]);
    if (problem !== undefined) throw new UsageError(`flag --${spec.name}: ${problem}`);
  }
  return { values, positionals };
}

/** The flags section of a command's --help, generated from the same specs the parser uses. */
export function flagsHelp(specs: readonly FlagSpec[], envPrefix: string): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.type === 'bool' ? '' : ` ${s.type === 'list' ? 'a,b' : s.type === 'duration' ? 'DURATION' : s.type.toUpperCase()}`}`;
    const def = s.default === undefined || s.default === false || (Array.isArray(s.default) && s.default.length === 0) ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
    return [left, `${s.description}${def}`] as const;
  });
  rows.push(['  --config FILE', 'YAML file whose keys are flag names; flags and environment override it']);
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `${rows.map(([l, r]) => l.padEnd(width) + r).join('\n')}\n\nEvery flag can also be set as ${envPrefix}_<FLAG_NAME> in the environment (e.g. ${envName(envPrefix, specs[0]?.name ?? 'data-dir')}).`;
}
