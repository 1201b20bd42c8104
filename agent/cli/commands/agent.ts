import { join } from 'node:path';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';

/** `wedsync-backup agent`: the headless daemon. Runs until SIGINT/SIGTERM, then stops cleanly. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const { startAgent } = await import('../../main.js');
  const agent = await startAgent({
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
  });
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
