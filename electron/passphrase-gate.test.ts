import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSupervisor, type AgentState } from './agent-supervisor.js';
import { PassphraseGate } from './passphrase-gate.js';
import { PassphraseStore, type SafeStorageLike } from './passphrase-store.js';

/**
 * The desktop app's passphrase flow without Electron: the real supervisor spawning a stand-in
 * agent that, like `wedsync-backup agent --json`, starts only with the right WEDSYNC_PASSPHRASE
 * and otherwise prints the CLI's JSON error line and exits 2; safeStorage is a reversible fake.
 */
const FAKE_AGENT = `
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.env.FAKE_DIR;
writeFileSync(join(dir, 'argv.json'), JSON.stringify(process.argv));
if (process.env.WEDSYNC_PASSPHRASE !== 'correct horse') {
  process.stdout.write(JSON.stringify({ ok: false, error: { code: process.env.WEDSYNC_PASSPHRASE ? 'WRONG_PASSPHRASE' : 'PASSPHRASE_REQUIRED', message: 'wrong passphrase for repository at /repo' } }) + '\\n');
  process.exit(2);
}
writeFileSync(join(dir, 'agent-token'), 'tok\\n');
process.stdout.write(JSON.stringify({ ok: true, url: 'http://127.0.0.1:45678', tokenFile: join(dir, 'agent-token') }) + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

const fakeSafe = (available = true): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (s) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ 0x5a)),
  decryptString: (b) => Buffer.from(b.map((x) => x ^ 0x5a)).toString('utf8'),
});

describe('passphrase gate (first run / unlock in the desktop app)', () => {
  let dir: string;
  let script: string;
  const sups: AgentSupervisor[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-gate-'));
    script = join(dir, 'fake-agent.cjs');
    await writeFile(script, FAKE_AGENT);
  });
  afterEach(async () => {
    for (const s of sups.splice(0)) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function launch(opts: { env?: string; safe?: SafeStorageLike } = {}) {
    const states: [AgentState, string | undefined][] = [];
    // The parent's environment may hold a passphrase: the child gets one only through the gate.
    const { WEDSYNC_PASSPHRASE: _drop, ...base } = process.env;
    const supervisor = new AgentSupervisor({ command: process.execPath, args: [script, 'agent', '--json'], env: { ...base, FAKE_DIR: dir }, onState: (s, d) => states.push([s, d]), restartDelayMs: 10, stopTimeoutMs: 5000 });
    sups.push(supervisor);
    const store = new PassphraseStore(join(dir, 'passphrase.enc'), opts.safe ?? fakeSafe());
    const gate = new PassphraseGate({ store, supervisor, envPassphrase: opts.env, needsPassphrase: true });
    return { supervisor, store, gate, states };
  }

  it('first run: locked; a wrong passphrase is refused and not kept; the right one starts the agent and is kept encrypted', async () => {
    const { supervisor, gate, store, states } = launch();
    expect(await gate.start()).toBe('locked');
    expect(supervisor.state).toBe('locked');
    const wrong = await gate.unlock('Tr0ub4dor');
    expect(wrong).toEqual({ ok: false, error: { code: 'WRONG_PASSPHRASE', message: 'wrong passphrase for repository at /repo', status: 401 } });
    expect(await store.load()).toBeNull();
    expect(supervisor.state).toBe('locked');
    expect(await gate.unlock('correct horse')).toEqual({ ok: true, data: { remembered: true } });
    expect(supervisor.state).toBe('running');
    expect(supervisor.agent()).toEqual({ url: 'http://127.0.0.1:45678', token: 'tok' });
    expect((await readFile(join(dir, 'passphrase.enc'))).toString('utf8')).not.toContain('horse');
    // Never in argv (process listings), never in the states the tray and the window show.
    expect(await readFile(join(dir, 'argv.json'), 'utf8')).not.toContain('horse');
    expect(JSON.stringify(states)).not.toMatch(/horse|Tr0ub4dor/);
  });

  it('next launch: the kept passphrase starts the agent without asking; one that stopped working is forgotten and the app asks again', async () => {
    const first = launch();
    await first.store.save('correct horse');
    expect(await first.gate.start()).toBe('running');
    await first.supervisor.stop();

    const second = launch();
    await second.store.save('an old passphrase');
    expect(await second.gate.start()).toBe('locked');
    expect(second.supervisor.state).toBe('locked');
    expect(await second.store.load()).toBeNull();
  });

  it('WEDSYNC_PASSPHRASE at launch starts the agent and is kept for the next start', async () => {
    const { gate, store } = launch({ env: 'correct horse' });
    expect(await gate.start()).toBe('running');
    expect(await store.load()).toBe('correct horse');
  });

  it('at most five attempts a minute; without a keychain it works for the session and says it was not remembered', async () => {
    const { gate } = launch();
    for (let i = 0; i < 5; i++) expect((await gate.unlock(`wrong ${i}`)).ok).toBe(false);
    expect(await gate.unlock('correct horse')).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', status: 429 } });

    const noKeychain = launch({ safe: fakeSafe(false) });
    expect(await noKeychain.gate.unlock('correct horse')).toEqual({ ok: true, data: { remembered: false } });
  });
});
