/**
 * The upload targets of one recording: a DeliveryTarget per output that goes to object storage (its storage,
 * then the config's backup), built from the plan, and checked before anything is recorded.
 */
import type { RecordingPlan, StorageConfig, UploadPlan } from '@egress/shared';
import type { DeliveryTarget } from '../storage/delivery-target.js';

/** An output's upload: where it goes and under which key. */
export interface Upload {
  target: DeliveryTarget;
  /** Object key (file) or key directory (segments, images), before the storage's prefix. */
  key: string;
}

/**
 * Builds the upload of one output; the local root is unused (uploads never go to local disk). The storage SDKs
 * (tens of MB) are loaded only by a process that uploads.
 */
export async function uploadFor(
  plan: UploadPlan | undefined,
  backup: StorageConfig | undefined,
): Promise<Upload | undefined> {
  if (!plan) return undefined;
  const [{ DeliveryTarget }, { endpointsFromEnv }] = await Promise.all([
    import('../storage/delivery-target.js'),
    import('../storage/backends.js'),
  ]);
  const target = DeliveryTarget.create(plan.storage, backup, { localRoot: '/', ...endpointsFromEnv(process.env) });
  return { target, key: plan.key };
}

/** Every output's upload, by output. */
export interface RecordingUploads {
  file?: Upload;
  segments?: Upload;
  images: (Upload | undefined)[];
}

export async function recordingUploads(plan: RecordingPlan): Promise<RecordingUploads> {
  const { file, segments, images = [] } = plan.outputs;
  const fileUpload = await uploadFor(file?.upload, plan.backup);
  const segmentsUpload = await uploadFor(segments?.upload, plan.backup);
  return {
    ...(fileUpload ? { file: fileUpload } : {}),
    ...(segmentsUpload ? { segments: segmentsUpload } : {}),
    images: await Promise.all(images.map((i) => uploadFor(i.upload, plan.backup))),
  };
}

/**
 * Checks every upload's bucket and credentials before recording: a missing bucket or a wrong key fails the egress
 * now (failed_precondition), not after an hour of recording. A failing backup only warns.
 */
export async function verifyUploads(u: RecordingUploads, note: (line: string) => void): Promise<void> {
  const all = [u.file, u.segments, ...u.images].filter((x): x is Upload => x !== undefined);
  const warnings = await Promise.all(all.map((x) => x.target.verify()));
  for (const w of new Set(warnings.flat())) note(w);
  if (all.length === 0) return;
  note(`storage checked for ${all.length} output(s)`);
}
