import type { KubeObject } from '../../../api/object.ts';
import type { FieldError } from '../../../api/field-error.ts';
import { validateStructuralSchema } from '../../../api/schema/structural.ts';
import type { ResourceHooks } from '../storage/hooks.ts';
import { CRD_CLEANUP_FINALIZER } from './crd-controller.ts';
import { crdSpec } from './resource-types.ts';
import { rfc3339 } from '../../../api/time.ts';

/**
 * CustomResourceDefinitions: their schemas must be structural; they are accepted and established
 * as soon as they are stored (kedge serves them at once), and carry the cleanup finalizer so that
 * deleting one first deletes its objects.
 */
export function crdHooks(now: () => Date = () => new Date()): ResourceHooks {
  const establish = (obj: KubeObject): void => {
    const spec = crdSpec(obj);
    const at = rfc3339(now().getTime());
    const storage = spec.versions?.find((v) => v.storage)?.name;
    const old = (obj['status'] ?? {}) as { storedVersions?: string[] };
    const stored = new Set(old.storedVersions ?? []);
    if (storage !== undefined) stored.add(storage);
    obj['status'] = {
      acceptedNames: { ...spec.names, listKind: spec.names?.listKind ?? `${spec.names?.kind ?? ''}List`, singular: spec.names?.singular ?? spec.names?.kind?.toLowerCase() },
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: at, reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: at, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      storedVersions: [...stored],
    };
  };
  return {
    admitCreate(obj) {
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), CRD_CLEANUP_FINALIZER])];
      establish(obj);
    },
    admitUpdate(obj, _old, _ctx, subresource) {
      if (subresource === undefined) establish(obj);
    },
    validateCreate(obj) {
      return structuralErrors(obj);
    },
  };
}

function structuralErrors(obj: KubeObject): FieldError[] {
  const spec = crdSpec(obj);
  const errors: FieldError[] = [];
  (spec?.versions ?? []).forEach((v, i) => {
    const schema = v.schema?.openAPIV3Schema;
    if (schema === undefined) return;
    errors.push(...validateStructuralSchema(schema, `spec.versions[${i}].schema.openAPIV3Schema`));
  });
  return errors;
}
