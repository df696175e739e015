/**
 * Wraps an expensive async read (a `pactl` process, say) so concurrent callers share one call and later
 * callers reuse its result for `ttlMs`: a scrape flood then starts one process per `ttlMs`, not one per scrape.
 */
export function sharedResult<T>(read: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let pending: Promise<T> | undefined;
  let freshUntil = 0;
  return () => {
    if (pending && (freshUntil === 0 || Date.now() < freshUntil)) return pending;
    const call = read();
    pending = call;
    freshUntil = 0;
    call.then(
      () => {
        if (pending === call) freshUntil = Date.now() + ttlMs;
      },
      // A failure is not kept: the next caller tries again.
      () => {
        if (pending === call) pending = undefined;
      },
    );
    return call;
  };
}
