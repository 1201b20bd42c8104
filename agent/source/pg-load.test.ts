import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('loadPg', () => {
  it('loads the driver without Node’s fetch implementation, and leaves the globals as they were', async () => {
    // A fresh process: this one has loaded pg already (test-support). Compiled code, as the CLI runs it.
    const compiled = new URL('../../dist/agent/source/pg-load.js', import.meta.url).href;
    const script = `
      const before = typeof navigator;
      const { loadPg } = await import(${JSON.stringify(compiled)});
      const pg = await loadPg();
      console.log(JSON.stringify({
        client: typeof pg.Client,
        pool: typeof pg.Pool,
        navigatorSame: typeof navigator === before,
        fetchLoaded: process.moduleLoadList.some((m) => m.includes('undici')),
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ client: 'function', pool: 'function', navigatorSame: true, fetchLoaded: false });
  });
});
