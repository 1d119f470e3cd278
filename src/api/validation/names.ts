/**
 * apimachinery's `util/validation` string rules with their exact messages. Each function returns
 * the problems with a value (one message each) or an empty array; callers wrap each message in a
 * field error, as Kubernetes does, so one bad name can yield two errors (too long, and bad shape).
 */
import { isIP } from 'node:net';
import { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from '../selectors/label-validation.ts';

export { dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors };

const utf8 = new TextEncoder();

/** Go measures strings in bytes; so do Kubernetes' length limits. */
export function byteLength(s: string): number {
  return utf8.encode(s).length;
}

/** `validation.MaxLenError`. */
export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

/** `validation.InclusiveRangeError`. */
export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

/** `validation.RegexError`, including its double spaces between examples. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  const shown = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${shown}regex used for validation is '${fmt}')`;
}

function rule(fmt: string): RegExp {
  return new RegExp(`^(?:${fmt})$`);
}

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_RE = rule(DNS1123_LABEL_FMT);
/** The longest DNS-1123 (and DNS-1035) label. */
export const DNS1123_LABEL_MAX_LENGTH = 63;

/** `validation.IsDNS1123Label`: namespace names, container and port names, Service names. */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1123_LABEL_RE.test(value)) errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  return errs;
}

const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const DNS1035_LABEL_RE = rule(DNS1035_LABEL_FMT);

/** `validation.IsDNS1035Label`: CRD names and version names. */
export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) errs.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1035_LABEL_RE.test(value)) errs.push(regexError(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  return errs;
}

/**
 * `maskTrailingDash`: a generateName prefix may end in `-` (the random suffix follows), so the
 * last dash is replaced before checking the shape.
 */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

/** `NameIsDNSSubdomain(name, prefix)`: most object names. */
export function nameIsDNSSubdomain(name: string, prefix: boolean): string[] {
  return dns1123SubdomainErrors(prefix ? maskTrailingDash(name) : name);
}

/** `NameIsDNSLabel(name, prefix)`: Namespace and Service names. */
export function nameIsDNSLabel(name: string, prefix: boolean): string[] {
  return dns1123LabelErrors(prefix ? maskTrailingDash(name) : name);
}

/** `NameIsDNS1035Label(name, prefix)`. */
export function nameIsDNS1035Label(name: string, prefix: boolean): string[] {
  return dns1035LabelErrors(prefix ? maskTrailingDash(name) : name);
}

/** `path.IsValidPathSegmentName` / `IsValidPathSegmentPrefix`: names that only need to fit in a URL. */
export function pathSegmentNameErrors(name: string, prefix: boolean): string[] {
  if (!prefix && (name === '.' || name === '..')) return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const illegal of ['/', '%']) if (name.includes(illegal)) errs.push(`may not contain '${illegal}'`);
  return errs;
}

/** `hasChDirPrefix`: keys that become file names must not walk up the tree. */
function chDirPrefixErrors(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_MAP_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const CONFIG_MAP_KEY_RE = rule(CONFIG_MAP_KEY_FMT);

/** `validation.IsConfigMapKey`: keys of ConfigMap and Secret data. */
export function configMapKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!CONFIG_MAP_KEY_RE.test(value)) errs.push(regexError(CONFIG_MAP_KEY_MSG, CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  errs.push(...chDirPrefixErrors(value));
  return errs;
}

const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const ENV_VAR_NAME_MSG = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const ENV_VAR_NAME_RE = rule(ENV_VAR_NAME_FMT);

/** `validation.IsEnvVarName`, the strict rule (C identifiers plus `-` and `.`). */
export function envVarNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME_RE.test(value)) errs.push(regexError(ENV_VAR_NAME_MSG, ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  errs.push(...chDirPrefixErrors(value));
  return errs;
}

/**
 * `validation.IsRelaxedEnvVarName` (RelaxedEnvironmentVariableValidation, on by default since
 * Kubernetes 1.32): any printable ASCII except `=`. kedge validates with this rule so that
 * manifests a current cluster accepts are accepted here too.
 */
export function relaxedEnvVarNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length === 0) errs.push('environment variable name must be non-empty');
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code > 0x7e || ch === '=') {
      errs.push("a valid environment variable name must consist only of printable ASCII characters other than '='");
      break;
    }
  }
  return errs;
}

/** `validation.IsValidPortNum`. */
export function portNumberErrors(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** `validation.IsValidPortName` (IANA_SVC_NAME): container port names and named target ports. */
export function portNameErrors(port: string): string[] {
  const errs: string[] = [];
  if (byteLength(port) > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** `validation.IsValidPercent`. */
export function percentErrors(value: string): string[] {
  return /^[0-9]+%$/.test(value) ? [] : [regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%')];
}

/** `validation.IsValidIP`'s message, for IPv4 or IPv6 literals. */
export function ipErrors(value: string): string[] {
  return isIP(value) === 0 ? ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] : [];
}

/** `validation.IsValidCIDR`'s message. */
export function cidrErrors(value: string): string[] {
  const slash = value.indexOf('/');
  const bits = Number(value.slice(slash + 1));
  const family = slash < 0 ? 0 : isIP(value.slice(0, slash));
  const max = family === 4 ? 32 : 128;
  const ok = family !== 0 && /^\d+$/.test(value.slice(slash + 1)) && bits <= max;
  return ok ? [] : ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
}
