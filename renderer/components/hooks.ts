import { useCallback, useEffect, useRef, useState } from 'react';

export type Loadable<T> = { state: 'loading' } | { state: 'error'; error: Error } | { state: 'ok'; data: T };

/**
 * Loads once per change of `deps`, and again on `reload()`. Answers of stale loads (deps changed
 * meanwhile) are dropped, so a slow answer never overwrites a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loadable<T> & { reload: () => void } {
  const [value, setValue] = useState<Loadable<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setValue((v) => (v.state === 'ok' && tick > 0 ? v : { state: 'loading' }));
    load().then(
      (data) => mine === seq.current && setValue({ state: 'ok', data }),
      (error: Error) => mine === seq.current && setValue({ state: 'error', error }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...value, reload };
}

/**
 * Calls `poll` every `intervalMs` while `active`, never overlapping two calls; the screen stays
 * live while long work runs in the agent. Stops on unmount.
 */
export function usePoll(poll: () => Promise<boolean | void>, active: boolean, intervalMs = 400): void {
  const fn = useRef(poll);
  fn.current = poll;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const step = async () => {
      let again = true;
      try {
        again = (await fn.current()) !== false;
      } catch {
        again = true;
      }
      if (!stopped && again) timer = setTimeout(step, intervalMs);
    };
    void step();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [active, intervalMs]);
}
