import { parseLabelSelector, labelSelectorFromMeta } from '../../../api/selectors/labels.ts';
import { parseFieldSelector, validateFieldSelector } from '../../../api/selectors/fields.ts';
import type { ObjectAttrs } from '../../../store/cacher.ts';
import type { ResourceType } from '../resources/resource-type.ts';

/** The field labels a resource can be selected by. */
export function supportedFields(rt: ResourceType): string[] {
  return ['metadata.name', ...(rt.namespaced ? ['metadata.namespace'] : []), ...rt.selectableFields];
}

/**
 * The filter of a list or watch from its `labelSelector` and `fieldSelector` parameters, or
 * undefined when both are empty.
 * @throws ApiError 400 for a selector that does not parse or names an unsupported field
 */
export function selectionFilter(labelSelector: string | undefined, fieldSelector: string | undefined, rt: ResourceType): ((attrs: ObjectAttrs) => boolean) | undefined {
  const labels = labelSelector === undefined || labelSelector.trim() === '' ? undefined : parseLabelSelector(labelSelector);
  const fields = fieldSelector === undefined || fieldSelector.trim() === '' ? undefined : parseFieldSelector(fieldSelector);
  if (fields !== undefined) validateFieldSelector(fields, supportedFields(rt));
  if (labels === undefined && fields === undefined) return undefined;
  if (labels !== undefined && fields !== undefined) return (a) => labels.matches(a.labels) && fields.matches(a.fields);
  if (labels !== undefined) return (a) => labels.matches(a.labels);
  return (a) => fields!.matches(a.fields);
}

/** The string form of a metav1.LabelSelector (for Scale.status.selector). */
export function labelSelectorString(selector: unknown): string | undefined {
  const converted = labelSelectorFromMeta(selector as Parameters<typeof labelSelectorFromMeta>[0]);
  return converted.ok ? converted.selector.toString() : undefined;
}
