/**
 * The error of a file no storage took. Its own module, without the storage SDKs behind DeliveryTarget, so code that
 * only needs to recognise it does not load them.
 */
import { EgressError } from '@egress/shared';

/** Every target refused a file; the file is still at `localPath`. */
export class DeliveryError extends EgressError {
  constructor(
    readonly localPath: string,
    readonly failures: { target: string; error: string }[],
  ) {
    super(
      'unavailable',
      `upload failed, the file is kept at ${localPath}: ${failures.map((f) => `${f.target}: ${f.error}`).join('; ')}`,
    );
  }
}
