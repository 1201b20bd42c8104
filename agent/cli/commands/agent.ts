import { join } from 'node:path';
import type { AgentOptions, RunningAgent } from '../../main.js';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';

/** `wedsync-backup agent`: the headless daemon. Runs until SIGINT/SIGTERM, then stops cleanly. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const { startAgent } = await import('../../main.js');
  const options: AgentOptions = {
    config: ctx.config,
    logger: ctx.logger,
    host: opts.host as string | undefined,
    port: opts.port as number | undefined,
    allowRemote: Boolean(opts.allowRemote),
    tlsCert: opts.tlsCert as string | undefined,
    tlsKey: opts.tlsKey as string | undefined,
    // The scheduler, the job runner and the nightly prune (agent/jobs/runner-daemon.ts).
    jobs: {
      scheduler: opts.scheduler !== false,
      runner: opts.runner !== false,
      timeZone: opts.timeZone as string | undefined,
      fullCron: opts.fullCron as string | undefined,
      offsiteCron: opts.offsiteCron as string | undefined,
      pruneCron: opts.pruneCron === 'off' ? null : (opts.pruneCron as string | undefined),
      hooks: { command: opts.hookCommand as string | undefined, webhookUrl: opts.hookUrl as string | undefined, onSuccess: Boolean(opts.hookOnSuccess) },
      urgentConcurrency: opts.urgentJobs as number | undefined,
      routineConcurrency: opts.routineJobs as number | undefined,
    },
  };
  // --unlock without a passphrase: serve the console's unlock screen until an admin enters it (api/locked.ts).
  if (opts.unlock && !ctx.config.passphrase) return runLocked(ctx, options, startAgent);
  const agent = await startAgent(options);
  const info = { ok: true, url: agent.url, tokenFile: join(ctx.config.home, 'agent-token'), tlsFingerprint: agent.tlsFingerprint };
  if (ctx.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else {
    const pin = agent.tlsFingerprint ? `TLS certificate SHA-256 fingerprint (pin it in clients): ${agent.tlsFingerprint}\n` : '';
    process.stderr.write(`WedSync Backup agent listening on ${agent.url} (API token in ${info.tokenFile}).\n${pin}Console: ${agent.consoleUrl()}  (one-time sign-in link, valid 10 minutes)\nCtrl-C to stop.\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  ctx.logger.info('stopping agent');
  await agent.close();
  return { json: info, text: '', printed: true };
}

async function runLocked(ctx: CommandContext, options: AgentOptions, start: (o: AgentOptions) => Promise<RunningAgent>): Promise<CommandResult> {
  const { startLockedAgent } = await import('../../api/locked.js');
  const locked = await startLockedAgent(options, start);
  const info = { ok: true, url: locked.url, tokenFile: join(ctx.config.home, 'agent-token'), locked: true, tlsFingerprint: null };
  if (ctx.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else process.stderr.write(`WedSync Backup agent LOCKED on ${locked.url}: enter the repository passphrase in the console to start it.\nConsole: ${locked.consoleUrl()}  (one-time sign-in link, valid 10 minutes)\nCtrl-C to stop.\n`);
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const failed = locked.unlocked.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => err,
  );
  const outcome = await Promise.race([stop.then(() => null), failed]);
  ctx.logger.info('stopping agent');
  await locked.close();
  if (outcome) throw outcome;
  return { json: info, text: '', printed: true };
}
