import type { RpcStartEgressRequest } from '@egress/shared/psrpc/index';
import type { RequestKind } from './capacity.js';

/**
 * The cost kind of a room composite (or the unified request's template), as upstream prices it: a template
 * runs a whole room in Chrome; audio only is cheaper, and without a page to show (no layout, no
 * custom_base_url) upstream records it on the SDK, without Chrome. Undefined for every other request.
 */
export function roomCompositeKind(req: Pick<RpcStartEgressRequest, 'request'>): RequestKind | undefined {
  const r = req.request;
  const fields =
    r.case === 'roomComposite'
      ? r.value
      : r.case === 'egress' && r.value.source.case === 'template'
        ? r.value.source.value
        : undefined;
  if (!fields) return undefined;
  if (!fields.audioOnly) return 'room_composite';
  return fields.layout === '' && fields.customBaseUrl === '' ? 'sdk_audio_room_composite' : 'audio_room_composite';
}
