import { EgressInfo, EgressSourceType, EgressStatus, FileInfo } from '@livekit/protocol';
import type { EndInfo, FileResult, LifecycleState } from '@egress/shared';
import { EgressError } from '@egress/shared';

/** Unix milliseconds to the nanosecond bigint EgressInfo carries. */
export const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

export const STATUS_OF: Record<LifecycleState, EgressStatus> = {
  starting: EgressStatus.EGRESS_STARTING,
  active: EgressStatus.EGRESS_ACTIVE,
  ending: EgressStatus.EGRESS_ENDING,
  complete: EgressStatus.EGRESS_COMPLETE,
  failed: EgressStatus.EGRESS_FAILED,
  aborted: EgressStatus.EGRESS_ABORTED,
  limit_reached: EgressStatus.EGRESS_LIMIT_REACHED,
};

export function fileInfo(f: FileResult): FileInfo {
  return new FileInfo({
    filename: f.filename,
    location: f.location,
    size: BigInt(f.size),
    duration: msToNs(f.durationMs),
    startedAt: msToNs(f.startedAt),
    endedAt: msToNs(f.endedAt),
  });
}

/** A fresh STARTING info for a request; the request copy is what clients see in ListEgress. */
export function startingInfo(
  egressId: string,
  roomId: string,
  roomName: string,
  request: EgressInfo['request'],
  now = Date.now(),
): EgressInfo {
  return new EgressInfo({
    egressId,
    roomId,
    roomName,
    sourceType: EgressSourceType.WEB,
    status: EgressStatus.EGRESS_STARTING,
    startedAt: msToNs(now),
    updatedAt: msToNs(now),
    request,
  });
}

/** Applies a terminal report to a copy of the info. */
export function endedInfo(base: EgressInfo, end: EndInfo): EgressInfo {
  const info = base.clone();
  info.status = STATUS_OF[end.state];
  info.details = end.details;
  info.endedAt = msToNs(end.endedAt);
  info.updatedAt = msToNs(Date.now());
  info.fileResults = end.files.map(fileInfo);
  // The deprecated single result is still read by older SDKs when there is exactly one output.
  info.result = info.fileResults.length === 1 ? { case: 'file', value: info.fileResults[0]! } : { case: undefined };
  if (end.error) {
    const err = new EgressError(end.error.code, end.error.message);
    info.error = err.message;
    // Upstream reports a reached session limit as 413, which no psrpc code maps to.
    info.errorCode = end.state === 'limit_reached' ? 413 : err.httpStatus;
  }
  return info;
}
