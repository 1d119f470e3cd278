import { apiErrors, isApiError } from '../../../../api/errors.ts';
import { fieldErrors, type FieldError } from '../../../../api/field-error.ts';
import type { KubeObject } from '../../../../api/object.ts';
import { dns1123SubdomainErrors } from '../../../../api/selectors/label-validation.ts';
import { checkValue, DEVICES_GROUP, modelProperties, modelPropertyProblems, TWIN_KEY, type DeviceModelObject, type DeviceModelSpec, type DeviceObject, type ResolvedProperty } from '../../../../protocol/devices.ts';
import type { ResourceHooks } from '../../storage/hooks.ts';
import type { RestStorage } from '../../storage/rest-storage.ts';

/**
 * Device admission: a Device must name a DeviceModel that exists in its namespace, list only
 * properties of that model (once each), and give desired values only to ReadWrite properties and
 * only values the property's type and range accept (the same check DeviceTwin applies to every
 * value a mapper reports: `checkValue` in src/protocol/devices.ts). Refusals are 422 Invalid with
 * one cause per field, as Kubernetes validation reports them.
 *
 * Checked on create and on every update that changes the spec; status writes (the hub writing
 * reported values) and metadata-only updates are not, so a model edited afterwards never blocks a
 * device's status or its deletion.
 *
 * @param models the DeviceModel storage, looked up per request (the CRD may be served later)
 */
export function deviceHooks(models: () => RestStorage | undefined): ResourceHooks {
  const admit = async (obj: KubeObject): Promise<void> => {
    const device = obj as DeviceObject;
    const namespace = device.metadata.namespace ?? 'default';
    const modelName = device.spec?.deviceModelRef?.name;
    let model: DeviceModelObject | undefined;
    if (modelName !== undefined && modelName !== '') {
      const storage = models();
      try {
        model = storage === undefined ? undefined : await storage.get(namespace, modelName);
      } catch (err) {
        if (!(isApiError(err) && err.httpStatus === 404)) throw err;
      }
    }
    const errors = deviceErrors(device, modelName, model);
    if (errors.length > 0) throw apiErrors.invalid('Device', DEVICES_GROUP, device.metadata.name ?? '', errors);
  };
  return {
    admitCreate: admit,
    async admitUpdate(obj, old, _ctx, subresource) {
      if (subresource !== undefined) return;
      if (JSON.stringify(obj['spec'] ?? null) === JSON.stringify(old['spec'] ?? null)) return;
      await admit(obj);
    },
  };
}

/** DeviceModel admission: property names unique and usable as twin names, bounds that make sense for the type. */
export function deviceModelHooks(): ResourceHooks {
  const admit = (obj: KubeObject): void => {
    const errors = deviceModelErrors((obj as DeviceModelObject).spec);
    if (errors.length > 0) throw apiErrors.invalid('DeviceModel', DEVICES_GROUP, obj.metadata.name ?? '', errors);
  };
  return {
    admitCreate: admit,
    admitUpdate(obj, _old, _ctx, subresource) {
      if (subresource === undefined) admit(obj);
    },
  };
}

/** What is wrong with a Device given its model (undefined: not found). */
export function deviceErrors(device: DeviceObject, modelName: string | undefined, model: DeviceModelObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = device.spec;
  if (modelName === undefined || modelName === '') {
    errors.push(fieldErrors.required('spec.deviceModelRef.name', 'a Device needs a DeviceModel'));
    return errors;
  }
  if (model === undefined) {
    errors.push({ ...fieldErrors.notFound('spec.deviceModelRef.name', modelName), detail: `no DeviceModel "${modelName}" in namespace "${device.metadata.namespace ?? 'default'}"` });
    return errors;
  }
  const nodeName = spec?.nodeName;
  if (nodeName !== undefined && nodeName !== '') {
    const problems = dns1123SubdomainErrors(nodeName);
    if (problems.length > 0) errors.push(fieldErrors.invalid('spec.nodeName', nodeName, problems.join('; ')));
  }
  const defined = modelProperties(model.spec);
  const seen = new Set<string>();
  // Schema validation runs after admission: the shapes are checked here as far as they are read.
  listOf(spec?.properties).forEach((p, i) => {
    const at = `spec.properties[${i}]`;
    if (typeof p?.name !== 'string' || p.name === '') {
      errors.push(fieldErrors.required(`${at}.name`));
      return;
    }
    if (seen.has(p.name)) errors.push(fieldErrors.duplicate(`${at}.name`, p.name));
    seen.add(p.name);
    const mp = defined.get(p.name);
    if (mp === undefined) {
      errors.push({ ...fieldErrors.notFound(`${at}.name`, p.name), detail: `DeviceModel "${modelName}" has no property "${p.name}" (it has: ${[...defined.keys()].join(', ') || 'none'})` });
      return;
    }
    for (const cycle of ['collectCycle', 'reportCycle'] as const) {
      const v = p[cycle];
      if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)) errors.push(fieldErrors.invalid(`${at}.${cycle}`, v, 'must be a positive number of nanoseconds'));
    }
    const desired = p.desired;
    if (desired === undefined || desired === null) return;
    if (mp.accessMode === 'ReadOnly') {
      errors.push(fieldErrors.forbidden(`${at}.desired`, `property "${p.name}" is ReadOnly in DeviceModel "${modelName}"`));
      return;
    }
    if (typeof desired.value !== 'string') {
      errors.push(fieldErrors.required(`${at}.desired.value`));
      return;
    }
    const resolved: Pick<ResolvedProperty, 'type' | 'minimum' | 'maximum'> = { type: mp.type ?? 'STRING', ...(mp.minimum !== undefined && mp.minimum !== '' ? { minimum: mp.minimum } : {}), ...(mp.maximum !== undefined && mp.maximum !== '' ? { maximum: mp.maximum } : {}) };
    const why = checkValue(desired.value, resolved);
    if (why !== undefined) errors.push(fieldErrors.invalid(`${at}.desired.value`, desired.value, `${why} (property "${p.name}" of DeviceModel "${modelName}" is ${describeType(resolved)})`));
  });
  return errors;
}

/** What is wrong with a DeviceModel's spec. */
export function deviceModelErrors(spec: DeviceModelSpec | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  listOf(spec?.properties).forEach((p, i) => {
    const at = `spec.properties[${i}]`;
    if (typeof p?.name !== 'string' || p.name === '') {
      errors.push(fieldErrors.required(`${at}.name`));
      return;
    }
    if (!TWIN_KEY.test(p.name)) errors.push(fieldErrors.invalid(`${at}.name`, p.name, 'must be 1-128 characters of letters, digits and -_.,:/@# (it names the twin on the edge)'));
    if (seen.has(p.name)) errors.push(fieldErrors.duplicate(`${at}.name`, p.name));
    seen.add(p.name);
    for (const [field, value, detail] of modelPropertyProblems(p)) errors.push(fieldErrors.invalid(`${at}.${field}`, value, detail));
  });
  return errors;
}

function listOf<T>(v: readonly T[] | undefined): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [];
}

function describeType(p: Pick<ResolvedProperty, 'type' | 'minimum' | 'maximum'>): string {
  const range = p.minimum !== undefined || p.maximum !== undefined ? ` in [${p.minimum ?? '-∞'}, ${p.maximum ?? '∞'}]` : '';
  return `${p.type}${range}`;
}
