import type { RestoreProgress } from '../contract/restore.js';

/**
 * In-process notifications for the event streams (routes/events.ts): the jobs say "something
 * changed about X" (a restore's progress, a validation's progress), the streams watching X wake
 * up and read X's state from its service. Nothing is queued: a listener added later simply reads
 * the current state first. The last restore progress per operation is kept while it runs, so a
 * stream can show it for restores run by any of the agent's restore services.
 */
export type EventTopic = `recovery-operation:${string}` | `validation:${string}` | `backup:${string}`;

export class EventHub {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly progress = new Map<string, RestoreProgress>();

  /** Calls `listener` on every publish of `topic` until the returned function is called. */
  subscribe(topic: EventTopic, listener: () => void): () => void {
    const set = this.listeners.get(topic) ?? new Set();
    set.add(listener);
    this.listeners.set(topic, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  publish(topic: EventTopic): void {
    for (const l of [...(this.listeners.get(topic) ?? [])]) {
      try {
        l();
      } catch {
        // A listener's failure is its stream's business, never the job's.
      }
    }
  }

  /** A restore's progress (RestoreDeps.onProgress): kept, then published. `done` forgets it. */
  restoreProgress(operationId: string, p: RestoreProgress): void {
    const id = operationId.toLowerCase();
    if (p.phase === 'done') this.progress.delete(id);
    else this.progress.set(id, p);
    this.publish(`recovery-operation:${id}`);
  }

  lastRestoreProgress(operationId: string): RestoreProgress | undefined {
    return this.progress.get(operationId.toLowerCase());
  }

  /** Number of live subscriptions (tests: streams clean up after themselves). */
  get size(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}
