import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';

/**
 * `wedsync-backup demo` (and `npm start`): the embedded default. Starts PostgreSQL from the
 * package with its data under WEDSYNC_HOME, applies migrations, seeds sample weddings on first
 * start, creates a repository with a generated passphrase kept under WEDSYNC_HOME, then stays
 * up until Ctrl-C and shuts PostgreSQL down cleanly. A second run reuses everything.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const { startEmbeddedPostgres } = await import('../../source/embedded.js');
  const { connect } = await import('../../source/db.js');
  const { migrate } = await import('../../catalog/migrate.js');
  const home = ctx.config.home;
  await mkdir(home, { recursive: true, mode: 0o700 });
  const log = ctx.logger;

  const cluster = await startEmbeddedPostgres({
    dataDir: join(home, 'postgres'),
    port: (opts.port as number | undefined) ?? 0,
    persistent: true,
    onLog: (line) => log.debug({ postgres: line.trim() }, 'postgres'),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster.stop().catch(() => undefined);
  };
  try {
    const admin = await connect(cluster.url);
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'wedsync'`);
    if (!exists.rowCount) await admin.query('CREATE DATABASE wedsync');
    await admin.end();
    const databaseUrl = cluster.urlFor('wedsync');

    const db = await connect(databaseUrl);
    let seeded = 0;
    try {
      const { applied } = await migrate(db);
      if (applied.length) log.info({ applied }, 'migrations applied');
      const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM weddings');
      if (Number(rows[0]!.n) === 0) {
        const { seed } = await import('../../source/seed.js');
        const { openBlobStore } = await import('../../storage/open.js');
        const photos = await openBlobStore(ctx.config.photoStore, { create: true });
        process.stderr.write(`seeding ${String(opts.weddings)} sample weddings…\n`);
        const result = await seed(db, { weddings: opts.weddings as number, writePhoto: (key: string, bytes: Buffer) => photos.put(key, bytes) });
        await photos.close();
        seeded = Object.values(result.counts as Record<string, number>).reduce((a, b) => a + b, 0);
      }
    } finally {
      await db.end();
    }

    // The demo repository's passphrase is generated once and kept next to it (mode 0600).
    const passFile = join(home, 'demo-passphrase');
    if (!existsSync(passFile)) await writeFile(passFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    const passphrase = ctx.config.passphrase ?? (await readFile(passFile, 'utf8')).trim();
    const { ensureRepository } = await import('../repo.js');
    await ensureRepository(ctx.config.repo, passphrase);

    // The product itself, on the embedded database: the agent with its API (and console).
    let agentUrl: string | null = null;
    let consoleUrl: string | null = null;
    let stopAgent: (() => Promise<void>) | null = null;
    if (opts.agent !== false) {
      const { startAgent } = await import('../../main.js');
      // jobs: the scheduler, the job runner and the nightly prune run on the demo data too.
      const agent = await startAgent({ config: { ...ctx.config, databaseUrl, passphrase }, logger: ctx.logger, jobs: true });
      agentUrl = agent.url;
      consoleUrl = agent.consoleUrl();
      stopAgent = () => agent.close();
    }

    const env = [
      `export DATABASE_URL='${databaseUrl}'`,
      `export WEDSYNC_HOME='${home}'`,
      `export WEDSYNC_REPO='${ctx.config.repo}'`,
      `export WEDSYNC_PHOTO_STORE='${ctx.config.photoStore}'`,
      `export WEDSYNC_PASSPHRASE_FILE='${passFile}'`,
    ];
    process.stderr.write(
      [
        '',
        `WedSync Backup demo is running: embedded PostgreSQL 15 on 127.0.0.1:${cluster.port}${seeded ? ` (seeded ${seeded} rows)` : ''}.`,
        'In another terminal:',
        ...env.map((l) => `  ${l}`),
        '  npx wedsync-backup backup --type full',
        '  npx wedsync-backup snapshots',
        ...(agentUrl ? [`The agent's API is at ${agentUrl} (bearer token in ${join(home, 'agent-token')}).`] : []),
        ...(consoleUrl ? [`Open the console: ${consoleUrl}  (one-time sign-in link, valid 10 minutes)`] : []),
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    if (ctx.json) process.stdout.write(`${JSON.stringify({ ok: true, databaseUrl, port: cluster.port, home, repo: ctx.config.repo, agentUrl })}\n`);

    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    process.stderr.write('stopping…\n');
    await stopAgent?.().catch(() => undefined);
    await stop();
    return { json: {}, text: '', printed: true };
  } catch (err) {
    await stop();
    throw err;
  }
}
