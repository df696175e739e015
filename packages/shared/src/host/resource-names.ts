/**
 * What an egress id is, and the names of what one egress owns on the host (its PulseAudio null sink and its
 * scratch dir). The planner accepts only ids these names can carry, and the reaper recognises leftovers by the
 * same rule, so nothing the service creates is unrecognisable later.
 */
import path from 'node:path';

// "EG_" as livekit-server mints them: it marks a sink or dir as ours on a daemon or tmp dir shared with others.
const EGRESS_ID = /^EG_[A-Za-z0-9_-]{1,61}$/;

/** The rule {@link isEgressId} checks, for error messages. */
export const EGRESS_ID_RULE = 'must be "EG_" then 1 to 61 letters, digits, "_" or "-"';

/** Whether `id` is an egress id this service accepts (and so names resources after). */
export function isEgressId(id: unknown): id is string {
  return typeof id === 'string' && EGRESS_ID.test(id);
}

/** The PulseAudio null sink of an egress; safe in module arguments (no spaces, quotes or "="). */
export function sinkName(egressId: string): string {
  return egressId;
}

/** The scratch dir of an egress under the `tmp_dir` root. */
export function scratchDir(tmpRoot: string, egressId: string): string {
  return path.join(tmpRoot, egressId);
}

/** The egress a null sink belongs to, or undefined when the sink is not one of ours. */
export function egressIdOfSink(name: string): string | undefined {
  return isEgressId(name) ? name : undefined;
}

/** The egress a scratch dir (its name under the `tmp_dir` root) belongs to, or undefined when it is not ours. */
export function egressIdOfScratchDir(name: string): string | undefined {
  return isEgressId(name) ? name : undefined;
}
