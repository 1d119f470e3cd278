import type { ErrorCode } from '../../errors/codes.ts';
import { PlatformError } from '../../errors/platform-error.ts';

/** The codes DeviceTwin answers MQTT requests with (documented in docs/errors.md). */
export type TwinErrorCode = Extract<ErrorCode, `TWIN_${string}`>;

/** KubeEdge's numeric result codes (`dtcommon.BadRequestCode`, `NotFoundCode`, `InternalErrorCode`). */
const MQTT_CODES: Readonly<Record<TwinErrorCode, number>> = {
  TWIN_MALFORMED: 400,
  TWIN_DEVICE_NOT_FOUND: 404,
  TWIN_PROPERTY_NOT_FOUND: 400,
  TWIN_VALUE_INVALID: 400,
  TWIN_INTERNAL: 500,
};

/**
 * A refused MQTT request: published as an error result (`code`, `reason`) on the request's result
 * topic, never thrown past DeviceTwin's handlers.
 */
export class TwinError extends PlatformError {
  declare readonly code: TwinErrorCode;

  constructor(code: TwinErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** The KubeEdge result code: 400, 404 or 500. */
  get mqttCode(): number {
    return MQTT_CODES[this.code];
  }
}
