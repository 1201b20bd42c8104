/** A resource being opened (its promise already started), and how to close it once open. */
export interface Opening<T> {
  opening: Promise<T>;
  close(value: NonNullable<T>): Promise<unknown> | unknown;
}

export const opening = <T>(promise: Promise<T>, close: (value: NonNullable<T>) => Promise<unknown> | unknown): Opening<T> => ({ opening: promise, close });

type Opened<R> = { [K in keyof R]: R[K] extends Opening<infer V> ? V : never };

/**
 * Waits for resources whose opening overlaps (a repository's key derivation, database
 * handshakes, a photo store) and returns all of them, or none: when one fails, those that did
 * open (null means "not needed") are closed before its error is thrown, so a failed command
 * leaves no connection keeping the process alive.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own value type
export async function openTogether<R extends Record<string, Opening<any>>>(resources: R): Promise<Opened<R>> {
  const entries = Object.entries(resources);
  const settled = await Promise.allSettled(entries.map(([, r]) => r.opening));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(settled.map((s, i) => (s.status === 'fulfilled' && s.value != null ? entries[i]![1].close(s.value) : undefined)));
    throw failed.reason;
  }
  return Object.fromEntries(entries.map(([key], i) => [key, (settled[i] as PromiseFulfilledResult<unknown>).value])) as Opened<R>;
}
