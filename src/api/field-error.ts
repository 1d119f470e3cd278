/**
 * One problem with one field of an object, as Kubernetes reports it in `Status.details.causes`
 * (`reason` = type, `field` = path such as `spec.containers[0].image`).
 */
export interface FieldError {
  readonly type: FieldErrorType;
  readonly field: string;
  /** Detail for the user, e.g. `must be no more than 63 characters`. */
  readonly detail: string;
  /** The offending value, echoed in the message as Kubernetes does. */
  readonly value?: unknown;
}

/** Kubernetes' `field.ErrorType` names, as they appear in `StatusCause.reason`. */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueNotFound'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueNotFound: 'Not found',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

/** The message Kubernetes prints for a field error, e.g. `spec.containers[0].image: Required value`. */
export function formatFieldError(e: FieldError): string {
  const head = TYPE_TEXT[e.type];
  const shown = e.value === undefined || e.type === 'FieldValueRequired' || e.type === 'FieldValueForbidden' || e.type === 'FieldValueTooLong' ? '' : `: ${JSON.stringify(e.value)}`;
  const detail = e.detail === '' ? '' : `: ${e.detail}`;
  return `${e.field}: ${head}${shown}${detail}`;
}

/** Constructors that keep call sites short and uniform. */
export const fieldErrors = {
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  notFound: (field: string, value: unknown): FieldError => ({ type: 'FieldValueNotFound', field, value, detail: '' }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, detail: '' }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  tooLong: (field: string, value: unknown, max: number): FieldError => ({ type: 'FieldValueTooLong', field, value, detail: `may not be more than ${max} bytes` }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, value, detail }),
};
