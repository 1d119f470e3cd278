import { parse as parseYaml } from 'yaml';
import { apiErrors, ApiError } from '../../../api/errors.ts';
import { isJsonObject, type JsonValue, type KubeObject } from '../../../api/object.ts';
import { applyJsonPatch, decodeJsonPatch } from '../../../api/patch/json-patch.ts';
import { jsonMergePatch } from '../../../api/patch/merge-patch.ts';
import { strategicMergePatch } from '../../../api/patch/strategic-merge-patch.ts';
import { serverSideApply } from '../../../api/patch/apply.ts';
import { describeError } from '../../../errors/platform-error.ts';
import type { RestStorage } from '../storage/rest-storage.ts';
import type { SchemaNode } from '../../../api/schema/schema-node.ts';
import { emptyResolver } from '../../../api/schema/resolver.ts';

const PERMISSIVE: SchemaNode = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
import type { BodyFormat } from './negotiation.ts';
import { decodeBody } from './io.ts';

/** Everything a patch needs: the body, the current object (absent only for apply), who applies. */
export interface PatchRequest {
  readonly storage: RestStorage | undefined;
  readonly format: BodyFormat;
  readonly body: Buffer;
  readonly current: KubeObject | undefined;
  readonly manager: string;
  readonly force: boolean;
  readonly subresource: string | undefined;
  readonly name: string;
  readonly namespace: string | undefined;
}

/**
 * Applies a PATCH body of any of Kubernetes' patch types to the current object.
 * @throws ApiError 400 for a malformed patch, 415 for strategic merge on custom resources, 409 for apply conflicts
 */
export function applyPatch(p: PatchRequest): KubeObject {
  const current = (p.current ?? { metadata: {} }) as unknown as JsonValue;
  let result: JsonValue;
  switch (p.format) {
    case 'json-patch': {
      result = applyJsonPatch(current, decodeJsonPatch(decodeBody(p.body, 'json') as JsonValue));
      break;
    }
    case 'merge-patch':
      result = jsonMergePatch(current, decodeBody(p.body, 'json') as JsonValue);
      break;
    case 'strategic-merge-patch': {
      const schema = p.storage?.policy.patchSchema;
      if (p.storage !== undefined && !p.storage.rt.strategicMergePatch) {
        throw apiErrors.unsupportedMediaType('application/strategic-merge-patch+json (strategic merge patch is not supported for custom resources)');
      }
      const patch = decodeBody(p.body, 'json') as JsonValue;
      result = schema === undefined ? jsonMergePatch(current, patch) : strategicMergePatch(current, patch, schema.schema, schema.resolver);
      break;
    }
    case 'apply-patch': {
      let applied: unknown;
      try {
        applied = parseYaml(p.body.toString('utf8'), { maxAliasCount: 100 });
      } catch (err) {
        throw apiErrors.badRequest(`error decoding YAML: ${describeError(err)}`, { cause: err });
      }
      if (!isJsonObject(applied)) throw apiErrors.badRequest('an apply patch must be an object');
      const schema = p.storage?.policy.patchSchema ?? { schema: PERMISSIVE, resolver: emptyResolver };
      // Kubernetes defaults an apply configuration before merging it, so list keys with defaults
      // (a port's protocol) need not be spelled out.
      p.storage?.policy.applyDefaults(applied as unknown as KubeObject);
      result = serverSideApply(p.current, applied as unknown as KubeObject, { manager: p.manager, force: p.force, now: new Date(), schema: schema.schema, resolver: schema.resolver }) as unknown as JsonValue;
      break;
    }
    default:
      throw apiErrors.unsupportedMediaType(p.format);
  }
  if (!isJsonObject(result)) throw apiErrors.badRequest('the patched object is not a JSON object');
  const obj = result as unknown as KubeObject;
  if (!isJsonObject(obj.metadata)) throw apiErrors.badRequest('the patch removed metadata');
  return obj;
}

export { ApiError };
