import { apiErrors } from '../../../api/errors.ts';
import { KUBERNETES_PROTOBUF_MEDIA_TYPE } from '../../../api/protobuf/index.ts';

/** The representation a client asked for in its Accept header. */
export interface Representation {
  readonly format: 'json' | 'yaml';
  /** `as=Table`, `as=PartialObjectMetadata(List)` or the aggregated discovery list. */
  readonly as?: 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | 'APIGroupDiscoveryList';
  /** The version of the `as` type (`v1`, `v2`, `v2beta1`). */
  readonly asVersion?: string;
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part, index) => {
      const [type = '', ...paramParts] = part.trim().split(';');
      const params: Record<string, string> = {};
      for (const p of paramParts) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
      }
      const q = params['q'] === undefined ? 1 : Number(params['q']);
      return { type: type.trim().toLowerCase(), params, q: Number.isFinite(q) ? q - index * 1e-6 : 0 };
    })
    .filter((m) => m.type !== '' && m.q > 0)
    .sort((a, b) => b.q - a.q);
}

const TRANSFORMS: Record<string, { group: string; versions: readonly string[] }> = {
  Table: { group: 'meta.k8s.io', versions: ['v1', 'v1beta1'] },
  PartialObjectMetadata: { group: 'meta.k8s.io', versions: ['v1', 'v1beta1'] },
  PartialObjectMetadataList: { group: 'meta.k8s.io', versions: ['v1', 'v1beta1'] },
  APIGroupDiscoveryList: { group: 'apidiscovery.k8s.io', versions: ['v2', 'v2beta1'] },
};

/**
 * Picks the first acceptable representation, in the client's order of preference, among those this
 * endpoint offers. Protobuf is not offered; clients (kubectl, client-go) always list JSON as well.
 * @param allowed the `as=` transformations this endpoint can produce.
 * @throws ApiError 406 when nothing the client accepts can be produced.
 */
export function negotiate(accept: string | undefined, allowed: readonly NonNullable<Representation['as']>[]): Representation {
  if (accept === undefined || accept.trim() === '') return { format: 'json' };
  for (const m of parseAccept(accept)) {
    let format: Representation['format'] | undefined;
    if (m.type === 'application/json' || m.type === 'application/*' || m.type === '*/*') format = 'json';
    else if (m.type === 'application/yaml') format = 'yaml';
    if (format === undefined) continue;
    const as = m.params['as'];
    if (as === undefined) return { format };
    const t = TRANSFORMS[as];
    const asType = as as NonNullable<Representation['as']>;
    if (t === undefined || !allowed.includes(asType)) continue;
    const g = m.params['g'];
    const v = m.params['v'];
    if (g !== t.group || v === undefined || !t.versions.includes(v)) continue;
    return { format, as: asType, asVersion: v };
  }
  throw apiErrors.notAcceptable(`only the following media types are accepted: application/json, application/yaml`);
}

/** The body formats a request may use. */
export type BodyFormat = 'json' | 'yaml' | 'json-patch' | 'merge-patch' | 'strategic-merge-patch' | 'apply-patch';

const CONTENT_TYPES: Record<string, BodyFormat> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/json-patch+json': 'json-patch',
  'application/merge-patch+json': 'merge-patch',
  'application/strategic-merge-patch+json': 'strategic-merge-patch',
  'application/apply-patch+yaml': 'apply-patch',
  'application/apply-patch+cbor': 'apply-patch',
};

/** The formats a whole object (create, update) may arrive in: patches aside, also Kubernetes protobuf. */
export type ObjectBodyFormat = 'json' | 'yaml' | 'protobuf';

/**
 * kubectl and client-go send typed creates and updates as `application/vnd.kubernetes.protobuf`;
 * kedge decodes those into the same JSON (src/api/protobuf). Patches are never protobuf.
 * @throws ApiError 415 for any other Content-Type, patch types included.
 */
export function objectBodyFormat(contentType: string | undefined): ObjectBodyFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === KUBERNETES_PROTOBUF_MEDIA_TYPE) return 'protobuf';
  const format = bodyFormat(contentType);
  if (format !== 'json' && format !== 'yaml') throw apiErrors.unsupportedMediaType(contentType ?? '');
  return format;
}

/** @throws ApiError 415 for a Content-Type kedge does not read. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const f = CONTENT_TYPES[type === '' ? 'application/json' : type];
  if (f === undefined || type === 'application/apply-patch+cbor') throw apiErrors.unsupportedMediaType(type);
  return f;
}
