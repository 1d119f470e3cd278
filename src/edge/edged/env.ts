import type { ConfigMap, Container, EnvVar, ObjectFieldSelector, ResourceFieldSelector, Secret } from 'kubernetes-types/core/v1.d.ts';
import { milliValue, tryParseQuantity, unitValue } from '../../api/quantity.ts';
import { EdgeError } from '../errors.ts';
import type { PodObject } from './pod-spec.ts';

/** Where ConfigMaps and Secrets come from: MetaManager's copies of what the cloud sent. */
export interface ObjectSource {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

/** What field references and resource references resolve against, besides the pod itself. */
export interface EnvContext {
  readonly pod: PodObject;
  readonly podIps: readonly string[];
  readonly hostIps: readonly string[];
  /** Node allocatable, the default of a `limits.*` reference when the container has no limit. */
  readonly nodeCpuMilli: number;
  readonly nodeMemoryBytes: number;
}

/** Environment variable names the kubelet accepts from envFrom (C identifiers, dots and dashes). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The result of {@link resolveEnv}. */
export interface ResolvedEnv {
  readonly env: { name: string; value: string }[];
  /** envFrom keys that are not valid variable names, skipped (the kubelet warns with an event). */
  readonly invalidKeys: string[];
}

/**
 * A container's environment, as the kubelet builds it: `envFrom` sources first (prefixed), then
 * `env` in order, later entries overriding earlier ones; `$(VAR)` in values expands to variables
 * defined before it (`$$` escapes).
 * @throws {EdgeError} `EDGE_POD_CONFIG_INVALID` when a ConfigMap, Secret or key that is not optional
 * is missing, or a field reference is not supported (the container stays CreateContainerConfigError)
 */
export function resolveEnv(container: Container, ctx: EnvContext, objects: ObjectSource): ResolvedEnv {
  const ns = ctx.pod.metadata.namespace;
  const vars = new Map<string, string>();
  const invalidKeys: string[] = [];
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (from.configMapRef !== undefined) {
      const cm = objects.configMap(ns, from.configMapRef.name ?? '');
      if (cm === undefined) {
        if (from.configMapRef.optional === true) continue;
        throw invalid(`configmap "${from.configMapRef.name ?? ''}" not found`);
      }
      data = { ...cm.data };
    } else if (from.secretRef !== undefined) {
      const s = objects.secret(ns, from.secretRef.name ?? '');
      if (s === undefined) {
        if (from.secretRef.optional === true) continue;
        throw invalid(`secret "${from.secretRef.name ?? ''}" not found`);
      }
      data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    }
    for (const [k, v] of Object.entries(data ?? {})) {
      const name = `${prefix}${k}`;
      if (!ENV_NAME.test(name)) invalidKeys.push(name);
      else vars.set(name, v);
    }
  }
  for (const e of container.env ?? []) {
    const value = envValue(e, container, ctx, objects, vars);
    if (value !== undefined) vars.set(e.name, value);
  }
  return { env: [...vars].map(([name, value]) => ({ name, value })), invalidKeys };
}

function envValue(e: EnvVar, container: Container, ctx: EnvContext, objects: ObjectSource, defined: ReadonlyMap<string, string>): string | undefined {
  const ns = ctx.pod.metadata.namespace;
  if (e.valueFrom === undefined) return expand(e.value ?? '', defined);
  const from = e.valueFrom;
  if (from.configMapKeyRef !== undefined) {
    const ref = from.configMapKeyRef;
    const cm = objects.configMap(ns, ref.name ?? '');
    const v = cm?.data?.[ref.key] ?? (cm?.binaryData?.[ref.key] !== undefined ? Buffer.from(cm.binaryData[ref.key]!, 'base64').toString('utf8') : undefined);
    if (v !== undefined) return v;
    if (ref.optional === true) return undefined;
    throw invalid(cm === undefined ? `configmap "${ref.name ?? ''}" not found` : `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''}`);
  }
  if (from.secretKeyRef !== undefined) {
    const ref = from.secretKeyRef;
    const s = objects.secret(ns, ref.name ?? '');
    const v = s?.data?.[ref.key];
    if (v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
    if (ref.optional === true) return undefined;
    throw invalid(s === undefined ? `secret "${ref.name ?? ''}" not found` : `couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''}`);
  }
  if (from.fieldRef !== undefined) return fieldValue(from.fieldRef, ctx);
  if (from.resourceFieldRef !== undefined) return resourceValue(from.resourceFieldRef, container, ctx);
  return '';
}

/**
 * The value of a downward API field reference (env or downwardAPI volume).
 * @throws {EdgeError} `EDGE_POD_CONFIG_INVALID` for an unsupported path
 */
export function fieldValue(ref: ObjectFieldSelector, ctx: EnvContext): string {
  const pod = ctx.pod;
  const path = ref.fieldPath;
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (subscript !== null) return (subscript[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[subscript[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'metadata.labels':
      return formatMap(pod.metadata.labels ?? {});
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations ?? {});
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx.hostIps[0] ?? '';
    case 'status.hostIPs':
      return ctx.hostIps.join(',');
    case 'status.podIP':
      return ctx.podIps[0] ?? '';
    case 'status.podIPs':
      return ctx.podIps.join(',');
    default:
      throw invalid(`unsupported fieldPath ${path}`);
  }
}

/** `key="value"` lines, sorted, as the downward API writes labels and annotations. */
function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`)
    .join('\n');
}

/**
 * The value of a resource field reference, divided by its divisor and rounded up, as the kubelet
 * does; a limit the container does not set is the node's allocatable.
 * @throws {EdgeError} `EDGE_POD_CONFIG_INVALID` for an unsupported resource
 */
export function resourceValue(ref: ResourceFieldSelector, container: Container | undefined, ctx: EnvContext): string {
  const c = container ?? ctx.pod.spec?.containers.find((x) => x.name === ref.containerName);
  const [kind, resource] = ref.resource.split('.') as [string, string];
  const raw = kind === 'limits' ? c?.resources?.limits?.[resource] : kind === 'requests' ? c?.resources?.requests?.[resource] : undefined;
  const divisor = ref.divisor !== undefined ? tryParseQuantity(String(ref.divisor)) : undefined;
  if (resource === 'cpu') {
    const milli = raw !== undefined ? qMilli(raw) : kind === 'limits' ? ctx.nodeCpuMilli : 0;
    const d = divisor?.ok === true ? Number(milliValue(divisor.quantity)) : 1000;
    return String(Math.ceil(milli / Math.max(1, d)));
  }
  if (resource === 'memory' || resource === 'ephemeral-storage') {
    const b = raw !== undefined ? qUnits(raw) : kind === 'limits' && resource === 'memory' ? ctx.nodeMemoryBytes : 0;
    const d = divisor?.ok === true ? Number(unitValue(divisor.quantity)) : 1;
    return String(Math.ceil(b / Math.max(1, d)));
  }
  throw invalid(`unsupported resource ${ref.resource}`);
}

function qMilli(v: string | number): number {
  const p = tryParseQuantity(String(v));
  return p.ok ? Number(milliValue(p.quantity)) : 0;
}

function qUnits(v: string | number): number {
  const p = tryParseQuantity(String(v));
  return p.ok ? Number(unitValue(p.quantity)) : 0;
}

/**
 * Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion): references to defined
 * variables are replaced, `$$` becomes `$`, anything else is left as written.
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close > 0) {
        const name = input.slice(i + 2, close);
        const v = vars.get(name);
        out += v ?? `$(${name})`;
        i = close;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

function invalid(message: string): EdgeError {
  return new EdgeError('EDGE_POD_CONFIG_INVALID', message);
}
