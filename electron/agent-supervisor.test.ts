import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSupervisor, parseReady, type AgentState } from './agent-supervisor.js';

/**
 * The supervisor against real child processes: a stand-in agent (plain Node) that prints the
 * agent's ready line and waits, like `wedsync-backup agent --json` does. No Electron needed.
 */
const FAKE_AGENT = `
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.env.FAKE_DIR;
writeFileSync(join(dir, 'agent-token'), 'tok-' + process.pid + '\\n');
process.stdout.write(JSON.stringify({ ok: true, url: 'http://127.0.0.1:' + (40000 + (process.pid % 1000)), tokenFile: join(dir, 'agent-token') }) + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

describe('agent supervisor', () => {
  let dir: string;
  let sup: AgentSupervisor | undefined;
  afterEach(async () => {
    await sup?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads only loopback ready lines', () => {
    expect(parseReady('{"ok":true,"url":"http://127.0.0.1:5000","tokenFile":"/x/agent-token"}')).toEqual({ url: 'http://127.0.0.1:5000', tokenFile: '/x/agent-token' });
    expect(parseReady('{"ok":true,"agentUrl":"http://127.0.0.1:5000","home":"/h"}')).toEqual({ url: 'http://127.0.0.1:5000', tokenFile: '/h/agent-token' });
    expect(parseReady('{"ok":true,"url":"http://evil.example:5000","tokenFile":"/x"}')).toBeNull();
    expect(parseReady('not json')).toBeNull();
  });

  it('starts the agent, restarts it after a crash, and stops it cleanly without restarting', async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-sup-'));
    const script = join(dir, 'fake-agent.cjs');
    await writeFile(script, FAKE_AGENT);
    const states: AgentState[] = [];
    sup = new AgentSupervisor({ command: process.execPath, args: [script], env: { ...process.env, FAKE_DIR: dir }, onState: (s) => states.push(s), restartDelayMs: 10, stopTimeoutMs: 5000 });
    const first = await sup.start();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.token).toMatch(/^tok-\d+$/);
    expect(sup.state).toBe('running');

    // Crash: the supervisor brings a new process up with its own token.
    const pid = Number(first.token.slice(4));
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => sup!.agent()?.token && sup!.agent()!.token !== first.token, { timeout: 10_000 }).toBe(true);
    expect(states).toContain('restarting');

    await sup.stop();
    expect(sup.state).toBe('stopped');
    expect(sup.agent()).toBeNull();
    const after = states.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(states.length).toBe(after);
  });

  it('gives up with state failed when the agent keeps exiting before it is ready', async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-sup-'));
    const script = join(dir, 'broken-agent.cjs');
    await writeFile(script, "process.stderr.write('PASSPHRASE_REQUIRED\\n'); process.exit(2);");
    const states: AgentState[] = [];
    sup = new AgentSupervisor({ command: process.execPath, args: [script], env: process.env, onState: (s) => states.push(s), restartDelayMs: 5, maxFailedStarts: 3 });
    void sup.start();
    await expect.poll(() => sup!.state, { timeout: 10_000 }).toBe('failed');
    expect(states.at(-1)).toBe('failed');
    expect(sup.agent()).toBeNull();
  });
});
