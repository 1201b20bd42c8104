/**
 * Runs tasks one at a time, in the order they were handed in.
 *
 * Guarantees: a task starts only after the previous one settled (resolved or rejected); one
 * task's failure reaches its own caller only and never stops the queue. The agent runs its
 * backups, confirmed restores and queued restores through one of these: they share one
 * repository writer session.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
