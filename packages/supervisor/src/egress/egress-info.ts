import {
  EgressInfo,
  EgressSourceType,
  EgressStatus,
  FileInfo,
  ImagesInfo,
  SegmentsInfo,
  StreamInfo,
  StreamInfo_Status,
  StreamInfoList,
} from '@livekit/protocol';
import type {
  EndInfo,
  FileResult,
  ImagesResult,
  LifecycleState,
  OutputResults,
  SegmentsResult,
  StreamResult,
} from '@egress/shared';
import { capErrorText, EgressError, redactEgressRequest } from '@egress/shared';

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

const STREAM_STATUS: Record<StreamResult['status'], StreamInfo_Status> = {
  active: StreamInfo_Status.ACTIVE,
  finished: StreamInfo_Status.FINISHED,
  failed: StreamInfo_Status.FAILED,
};

export function streamInfo(r: StreamResult, now = Date.now()): StreamInfo {
  const end = r.endedAt ?? now;
  return new StreamInfo({
    url: r.url,
    status: STREAM_STATUS[r.status],
    startedAt: r.startedAt !== undefined ? msToNs(r.startedAt) : 0n,
    endedAt: r.endedAt !== undefined ? msToNs(r.endedAt) : 0n,
    duration: r.startedAt !== undefined ? msToNs(Math.max(0, end - r.startedAt)) : 0n,
    error: capErrorText(r.error ?? ''),
    retries: r.retries,
    lastRetryAt: r.lastRetryAt !== undefined ? msToNs(r.lastRetryAt) : 0n,
  });
}

export function segmentsInfo(r: SegmentsResult): SegmentsInfo {
  return new SegmentsInfo({
    playlistName: r.playlistName,
    playlistLocation: r.playlistLocation,
    livePlaylistName: r.livePlaylistName ?? '',
    livePlaylistLocation: r.livePlaylistLocation ?? '',
    duration: msToNs(r.durationMs),
    size: BigInt(r.size),
    segmentCount: BigInt(r.segmentCount),
    startedAt: msToNs(r.startedAt),
    endedAt: msToNs(r.endedAt),
  });
}

export function imagesInfo(r: ImagesResult): ImagesInfo {
  return new ImagesInfo({
    filenamePrefix: r.filenamePrefix,
    imageCount: BigInt(r.imageCount),
    startedAt: msToNs(r.startedAt),
    endedAt: msToNs(r.endedAt),
  });
}

/** Puts every result into the info, and the deprecated single result when there is exactly one. */
export function applyResults(info: EgressInfo, r: Partial<OutputResults>): void {
  if (r.files) info.fileResults = r.files.map(fileInfo);
  if (r.files?.some((f) => f.backupUsed)) info.backupStorageUsed = true;
  if (r.streams) info.streamResults = r.streams.map((s) => streamInfo(s));
  if (r.segments) info.segmentResults = r.segments.map(segmentsInfo);
  if (r.images) info.imageResults = r.images.map(imagesInfo);
  const kinds = [info.fileResults.length, info.segmentResults.length, info.streamResults.length > 0 ? 1 : 0];
  // Older SDKs still read the deprecated single result when the egress has one output.
  if (kinds.filter((n) => n > 0).length !== 1 || info.imageResults.length > 0) info.result = { case: undefined };
  else if (info.fileResults.length === 1) info.result = { case: 'file', value: info.fileResults[0]! };
  else if (info.segmentResults.length === 1) info.result = { case: 'segments', value: info.segmentResults[0]! };
  else if (info.streamResults.length > 0) {
    info.result = { case: 'stream', value: new StreamInfoList({ info: info.streamResults }) };
  } else info.result = { case: undefined };
}

/** A fresh STARTING info for a request, with a redacted copy of it: every update sends that copy. */
export function startingInfo(
  egressId: string,
  roomId: string,
  roomName: string,
  request: EgressInfo['request'],
  now = Date.now(),
): EgressInfo {
  const info = new EgressInfo({
    egressId,
    roomId,
    roomName,
    sourceType: EgressSourceType.WEB,
    status: EgressStatus.EGRESS_STARTING,
    startedAt: msToNs(now),
    updatedAt: msToNs(now),
    // ListEgress and webhooks show this copy to anyone with room admin rights: no credential may be in it.
    request: redactEgressRequest(request),
  });
  return info;
}

/** Applies a terminal report to a copy of the info. */
export function endedInfo(base: EgressInfo, end: EndInfo): EgressInfo {
  const info = base.clone();
  info.status = STATUS_OF[end.state];
  info.details = capErrorText(end.details);
  info.endedAt = msToNs(end.endedAt);
  info.updatedAt = msToNs(Date.now());
  applyResults(info, {
    files: end.files,
    streams: end.streams ?? [],
    segments: end.segments ?? [],
    images: end.images ?? [],
  });
  if (end.error) {
    const err = new EgressError(end.error.code, end.error.message);
    info.error = capErrorText(err.message);
    // Upstream reports a reached session limit as 413, which no psrpc code maps to.
    info.errorCode = end.state === 'limit_reached' ? 413 : err.httpStatus;
  }
  return info;
}
