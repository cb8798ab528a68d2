/**
 * A value now, or a promise of it. The per-request path returns values synchronously whenever the answer is
 * known now (a cached verdict, keys already loaded): a promise costs a microtask hop and an allocation per
 * request, which the bench measures. Callers must handle both (`await` does).
 */
export type MaybePromise<T> = T | Promise<T>;
