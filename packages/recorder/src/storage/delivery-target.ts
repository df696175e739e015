/**
 * Where an egress's finished files go: the output's storage (primary) and the config's `backup:` block, with
 * `prefix` and `generate_presigned_url` applied. A file the primary refuses goes to the backup; once the primary
 * has failed, later files go straight to the backup (as upstream). When every target fails, deliver() throws a
 * DeliveryError naming each failure and the local file, which the caller keeps.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError, EgressError, isLocalStorage, safeObjectKey, type StorageConfig } from '@egress/shared';
import { StorageBackendError, type StorageBackend } from './backend.js';
import { DeliveryError } from './delivery-error.js';

export { DeliveryError };
import { createBackend, type BackendEnvironment } from './backends.js';

/** Presigned URLs live 7 days, as upstream (the SigV4 maximum). */
export const PRESIGN_EXPIRY_SEC = 7 * 24 * 3600;

/** One delivered file. */
export interface Delivered {
  /** The final location: object URL, presigned URL, or absolute path for local disk. */
  location: string;
  /** The object key (prefix applied) or path it was stored under. */
  key: string;
  size: number;
  /** True when the backup target took it. */
  backupUsed: boolean;
}

interface Target {
  role: 'primary' | 'backup';
  backend: StorageBackend;
  config: StorageConfig;
}

/** `prefix` is a folder: joined with "/" unless it already ends with one; the key is refused if it would leave it. */
export function applyPrefix(prefix: string, key: string): string {
  const k = safeObjectKey(key);
  if (!prefix) return k;
  return prefix.endsWith('/') ? `${prefix}${k}` : `${prefix}/${k}`;
}

/**
 * One per output of an egress. The recorder's use:
 *
 * ```ts
 * const storage = resolveOutputStorage(
 *   { outputField: 'egress.outputs[0]', output: o.storage?.provider, outputUploadField: 'egress.outputs[0].storage',
 *     request: req.storage?.provider, requestField: 'egress.storage' },
 *   { storage: config.storage, disallow_local_storage: config.disallow_local_storage },
 * ); // when the plan is built: invalid_argument / unimplemented name the field
 * const target = DeliveryTarget.create(storage, config.backup, {
 *   localRoot: config.local_output_dir, ...endpointsFromEnv(process.env),
 * });
 * const warnings = await target.verify(); // before recording: throws failed_precondition naming bucket and cause
 * const d = await target.deliver(localFile, storageFilepath, contentTypeFor(localFile));
 * // FileInfo.location = d.location, size = d.size; EgressInfo.backup_storage_used ||= d.backupUsed;
 * // then remove localFile. On DeliveryError keep the file: the egress FAILS with err.message (path + causes).
 * ```
 */
export class DeliveryTarget {
  private primaryFailed = false;

  private constructor(
    private readonly primary: Target,
    private readonly backup: Target | undefined,
  ) {}

  /**
   * @param storage the output's storage (from resolveOutputStorage; no provider = local disk)
   * @param backup the config's `backup:` block; ignored when it names no provider
   */
  static create(storage: StorageConfig, backup: StorageConfig | undefined, env: BackendEnvironment): DeliveryTarget {
    const primary: Target = { role: 'primary', backend: createBackend(storage, env, 'storage'), config: storage };
    const backupTarget: Target | undefined =
      backup && !isLocalStorage(backup)
        ? { role: 'backup', backend: createBackend(backup, env, 'backup'), config: backup }
        : undefined;
    return new DeliveryTarget(primary, backupTarget);
  }

  /** True once the backup took a file. */
  get backupUsed(): boolean {
    return this.primaryFailed && this.backup !== undefined;
  }

  /**
   * Checks the primary's bucket and credentials (throws naming the failure) and the backup's (a failure there is
   * returned as a warning: the recording can still be delivered to the primary).
   */
  async verify(signal?: AbortSignal): Promise<string[]> {
    try {
      await this.primary.backend.verify(signal);
    } catch (err) {
      throw new EgressError('failed_precondition', `storage check failed: ${reasonOf(err)}`);
    }
    if (!this.backup) return [];
    try {
      await this.backup.backend.verify(signal);
      return [];
    } catch (err) {
      return [`backup storage check failed: ${reasonOf(err)}`];
    }
  }

  /** Uploads `localPath` as `key` (before prefix); the local file is left in place for the caller to remove. */
  async deliver(localPath: string, key: string, contentType: string, signal?: AbortSignal): Promise<Delivered> {
    const { size } = await stat(localPath);
    const failures: { target: string; error: string }[] = [];
    for (const t of [this.primary, this.backup]) {
      if (!t || (t.role === 'primary' && this.primaryFailed && this.backup)) continue;
      const fullKey = applyPrefix(t.config.prefix, key);
      try {
        let location = await t.backend.upload(localPath, fullKey, contentType, signal);
        if (t.config.generate_presigned_url && !isLocalStorage(t.config)) {
          location = await t.backend.presign(fullKey, PRESIGN_EXPIRY_SEC);
        }
        return { location, key: fullKey, size, backupUsed: t.role === 'backup' };
      } catch (err) {
        signal?.throwIfAborted();
        failures.push({ target: `${t.role} ${t.backend.description}`, error: reasonOf(err, true) });
        if (t.role === 'primary') this.primaryFailed = true;
      }
    }
    throw new DeliveryError(path.resolve(localPath), failures);
  }
}

/** A backend error's own words; `short` leaves out the destination (the caller names it). */
function reasonOf(err: unknown, short = false): string {
  if (err instanceof StorageBackendError) return short ? `${err.operation} failed: ${err.reason}` : err.message;
  return describeError(err);
}
