/** A one-line progress display on stderr for terminals (rewritten in place), silent otherwise. */
export function progressLine(enabled: boolean): { update(text: string): void; done(): void } {
  let last = 0;
  let shown = false;
  return {
    update(text: string) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (enabled && shown) process.stderr.write('\r\x1b[2K');
    },
  };
}

export function rate(n: number, ms: number): string {
  return ms > 0 ? `${Math.round((n * 1000) / ms).toLocaleString('en')}/s` : '';
}

/** ", ETA 12 s" from progress so far, or "" when the total is unknown. */
export function eta(done: number, total: number, ms: number): string {
  if (!total || !done || done >= total) return '';
  return `, ETA ${Math.ceil(((total - done) * ms) / done / 1000)} s`;
}
