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
