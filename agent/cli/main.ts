import { Argument, Command, CommanderError, Option } from 'commander';
import { resolveConfig, type ConfigFlags } from './config.js';
import type { CommandContext } from './context.js';
import { printError, printResult, type CommandResult } from './output.js';
import { collectUuid, dataTypes, fraction, isoInstant, isoTime, positiveInt, snapshotRef, uuid } from './parse.js';
import { WedsyncError } from '../contract/errors.js';

/**
 * The `wedsync-backup` command line. Commands are declared here (so --help lists them all)
 * and their code is imported only when run: an emergency backup must not pay for loading
 * the API server, the AWS SDK or the scheduler.
 */
type Runner = (ctx: CommandContext, opts: Record<string, unknown>, args: string[]) => Promise<CommandResult>;

interface GlobalFlags extends ConfigFlags {
  json?: boolean;
}

function globalOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print exactly one JSON object on stdout')
    .option('-v, --verbose', 'debug logs and stack traces on errors')
    .option('--config <file>', 'config file (default: $WEDSYNC_HOME/config.json)')
    .option('--database-url <url>', 'the wedding database (env DATABASE_URL)')
    .option('--repo <location>', 'repository: a folder or s3://bucket/prefix (env WEDSYNC_REPO)')
    .option('--offsite-repo <location>', 'off-site repository (env WEDSYNC_OFFSITE_REPO)')
    .option('--photo-store <location>', 'photo files: a folder or s3://bucket/prefix (env WEDSYNC_PHOTO_STORE)')
    .option('--home <dir>', "the agent's own state folder (env WEDSYNC_HOME)")
    .option('--passphrase-file <file>', 'file holding the repository passphrase (env WEDSYNC_PASSPHRASE_FILE)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--parallelism <n>', 'parallel export workers (default: one per core)', positiveInt)
    .option('--lock-timeout <duration>', 'how long a backup waits for a table another transaction locked, e.g. 30s, 2m (env WEDSYNC_LOCK_TIMEOUT; default 2m)');
}

/** The zone wedding days and cron patterns are read in (shared with the tier 1 commands' WEDSYNC_TIME_ZONE). */
function timeZoneOption(): Option {
  return new Option('--time-zone <zone>', "IANA zone the wedding day and cron patterns are read in (default: this machine's)").env('WEDSYNC_TIME_ZONE');
}

/**
 * `restore` takes two forms: SNAPSHOT --scope … (a snapshot), or --wedding ID --at ISO_TIME (the
 * wedding as it was at that time). Mixed or incomplete forms are refused here, before anything is
 * opened: exit 2 with one line naming the problem.
 */
export function checkRestoreArguments(o: Record<string, unknown>, snapshot: string | undefined, now: Date = new Date()): void {
  const bad = (message: string) => {
    throw new WedsyncError('BAD_INPUT', message);
  };
  const weddings = (o.wedding as string[] | undefined) ?? [];
  if (o.at !== undefined) {
    const at = o.at as string;
    if (snapshot !== undefined) bad(`--at picks its own snapshot (the wedding's tier 1 base + change log): drop ${JSON.stringify(snapshot)}`);
    if (o.scope === 'complete') bad('--at restores one wedding as it was at that time: it cannot be combined with --scope complete');
    if (weddings.length === 0) bad('--at needs --wedding ID: the wedding to bring back as it was at that time');
    if (weddings.length > 1) bad(`--at restores one wedding at a time (got ${weddings.length} --wedding options)`);
    if (o.scope === 'wedding-only' && o.dataTypes) bad('--scope wedding-only restores every data type: drop --data-types, or use --scope selective');
    if (o.scope === 'selective' && !o.dataTypes) bad('--scope selective needs --data-types');
    // A second of slack for clocks: "now" typed by hand is not in the future.
    if (Date.parse(at) > now.getTime() + 1000) bad(`--at ${at} is in the future (now is ${now.toISOString()})`);
    return;
  }
  if (snapshot === undefined) bad('restore needs SNAPSHOT (an id or "latest") with --scope, or --wedding ID --at ISO_TIME');
  if (o.scope === undefined) bad('restore SNAPSHOT needs --scope complete|selective|wedding-only');
}

let exitCode = 0;

function define(program: Command, name: string, description: string, load: () => Promise<{ run: Runner }>): Command {
  const cmd = globalOptions(program.command(name).description(description));
  cmd.action(async (...received: unknown[]) => {
    // commander passes positional args, then the options object, then the command itself.
    const command = received[received.length - 1] as Command;
    const opts = command.optsWithGlobals() as Record<string, unknown> & GlobalFlags;
    const args = received.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    const json = Boolean(opts.json);
    const verbose = Boolean(opts.verbose);
    let logger: CommandContext['logger'] | undefined;
    try {
      const config = resolveConfig(opts);
      // Every S3 store this process opens gets the configured timeouts.
      (await import('../storage/open.js')).setS3Defaults({ connectionTimeoutMs: config.s3.connectTimeoutMs, requestTimeoutMs: config.s3.requestTimeoutMs });
      const { createLogger } = await import('../logger.js');
      logger = await createLogger(json && !verbose && config.sources.logLevel === 'default' ? 'warn' : config.logLevel);
      const ctx: CommandContext = { config, logger, json, verbose, interactive: Boolean(process.stderr.isTTY) && !json };
      const { run } = await load();
      const result = await run(ctx, opts, args);
      printResult(result, json);
      exitCode = result.exitCode ?? 0;
    } catch (err) {
      exitCode = printError(err, json, verbose);
    } finally {
      // The codec pool's worker threads (big restores and backups) stop with the command.
      const { closeCodecPool } = await import('../repository/codec-pool.js');
      const pool = await closeCodecPool().catch(() => null);
      if (pool) logger?.debug(pool, 'codec pool closed');
    }
  });
  return cmd;
}

export function buildProgram(): Command {
  const program = new Command('wedsync-backup')
    .description('WedSync Backup: wedding-aware backup and recovery for the WedSync platform (WS-337)')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();
  program.configureOutput({ writeErr: () => undefined, outputError: () => undefined });

  define(program, 'init', 'apply database migrations (wedding schema, catalog, change journal) and create the repository', () => import('./commands/init.js'));

  define(program, 'seed', 'fill the sample schema with deterministic, realistic weddings', () => import('./commands/seed.js'))
    .requiredOption('--weddings <n>', 'number of weddings', positiveInt)
    .option('--guests-per-wedding <n>', 'guests per wedding', positiveInt, 150)
    .option('--timeline-events-per-wedding <n>', 'timeline events per wedding', positiveInt, 50)
    .option('--vendors-per-wedding <n>', 'vendors per wedding', positiveInt, 20)
    .option('--photos-per-wedding <n>', 'photo rows per wedding', positiveInt, 100)
    .option('--photo-files-per-wedding <n>', 'photo files written to the photo store per wedding', (v) => (v === '0' ? 0 : positiveInt(v)), 3)
    .option('--seed <s>', 'random seed (same seed → same rows)', positiveInt, 1)
    .option('--now <iso>', 'the date weddings are spread around (default: now)', isoTime)
    .option('--reset', 'empty the sample tables first');

  define(program, 'demo', 'start an embedded PostgreSQL with sample weddings and keep it running until Ctrl-C', () => import('./commands/demo.js'))
    .option('--weddings <n>', 'weddings to seed on first start', positiveInt, 200)
    .option('--port <n>', 'PostgreSQL port (default: a free one)', positiveInt)
    .option('--no-agent', 'only the database, no agent');

  define(program, 'backup', 'take a snapshot now (full, incremental or emergency)', () => import('./commands/backup.js'))
    .addOption(new Option('--type <type>', 'backup kind').choices(['full', 'incremental', 'emergency']).default('full'))
    .option('--wedding <id>', 'wedding to back up (repeatable; required for emergency)', collectUuid)
    .option('--data-types <list>', 'comma-separated: guests,timeline,photos,vendors', dataTypes);

  define(program, 'snapshots', 'list snapshots', () => import('./commands/snapshots.js'))
    .option('--wedding <id>', 'only snapshots containing this wedding', collectUuid);

  define(program, 'show', 'show what a snapshot holds per wedding and data type', () => import('./commands/show.js'))
    .argument('<snapshot>', 'snapshot id or "latest"', snapshotRef('latest'))
    .option('--wedding <id>', 'only this wedding', collectUuid);

  define(program, 'agent', 'run the headless agent: scheduler, jobs and the HTTP API', () => import('./commands/agent.js'))
    .option('--host <host>', 'API address to bind (default 127.0.0.1)')
    .option('--port <n>', 'API port (default: a free one)', (v) => (v === '0' ? 0 : positiveInt(v)))
    .option('--allow-remote', 'allow a non-loopback --host (the API is then served over HTTPS only)')
    .option('--tls-cert <file>', 'PEM certificate for HTTPS (default for remote binds: a generated self-signed one, fingerprint printed)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--unlock', 'with no passphrase configured: start locked and wait for an admin to enter it in the console (loopback only)')
    .option('--no-scheduler', 'do not plan backups (other agents plan; this one still runs jobs)')
    .option('--no-runner', 'do not run backup jobs (API and planning only)')
    .addOption(timeZoneOption())
    .addOption(new Option('--full-cron <pattern>', 'daily full backup, cron in --time-zone (default "0 2 * * *")').env('WEDSYNC_FULL_CRON'))
    .addOption(new Option('--offsite-cron <pattern>', 'weekly off-site copy (default "0 3 * * 0")').env('WEDSYNC_OFFSITE_CRON'))
    .addOption(new Option('--prune-cron <pattern>', 'nightly prune, or "off" (default "30 4 * * *")').env('WEDSYNC_PRUNE_CRON'))
    .addOption(new Option('--hook-command <cmd>', 'run on a job failure (and success with --hook-on-success), JSON payload on stdin').env('WEDSYNC_HOOK_COMMAND'))
    .addOption(new Option('--hook-url <url>', 'POST a JSON payload here on a job failure (and success with --hook-on-success)').env('WEDSYNC_HOOK_URL'))
    .option('--hook-on-success', 'also announce successful jobs')
    .option('--urgent-jobs <n>', 'urgent jobs (priority >= 7) run at once (default 1)', positiveInt)
    .option('--routine-jobs <n>', 'other jobs run at once (default 1)', positiveInt);

  define(program, 'plan', 'what the scheduler will run, when and why (the same --now always gives the same plan)', () => import('./commands/plan.js'))
    .option('--now <iso>', 'plan from this instant (default: now)', isoTime)
    .option('--hours <n>', 'how far ahead', positiveInt, 24)
    .addOption(timeZoneOption())
    .addOption(new Option('--full-cron <pattern>', 'daily full backup cron (default "0 2 * * *")').env('WEDSYNC_FULL_CRON'))
    .addOption(new Option('--offsite-cron <pattern>', 'weekly off-site copy cron (default "0 3 * * 0")').env('WEDSYNC_OFFSITE_CRON'));

  define(program, 'status', 'upcoming weddings with criticality, last snapshot per tier, RPO against target, failing jobs (exit 1 when unhealthy)', () => import('./commands/status.js'))
    .option('--days <n>', 'weddings up to this many days ahead', positiveInt, 30)
    .addOption(timeZoneOption())
    .addOption(new Option('--full-cron <pattern>', 'daily full backup cron (default "0 2 * * *")').env('WEDSYNC_FULL_CRON'))
    .addOption(new Option('--offsite-cron <pattern>', 'weekly off-site copy cron (default "0 3 * * 0")').env('WEDSYNC_OFFSITE_CRON'));

  define(program, 'prune', 'forget snapshots the retention policy no longer keeps, delete packs nothing needs, repack mostly-garbage packs', () => import('./commands/prune.js'))
    .option('--dry-run', 'show what would be forgotten and deleted; change nothing')
    .option('--offsite', 'prune the off-site repository (--offsite-repo) instead: copies are kept a year')
    .option('--grace <minutes>', 'unreferenced packs seen for less than this are kept: backups in progress (default 360)', positiveInt)
    .option('--repack-threshold <p>', 'repack packs with at least this much garbage, e.g. 50%', fraction)
    .option('--wait-lock <seconds>', 'wait this long for running backups to release the repository (default 60)', (v) => (v === '0' ? 0 : positiveInt(v)))
    .addOption(timeZoneOption());

  define(program, 'copy', 'copy a snapshot to another repository (off-site): only what it lacks, manifest last, then verify the copy', () => import('./commands/copy.js'))
    .argument('<snapshot>', 'snapshot id or "latest"', snapshotRef('latest'))
    .option('--to <location>', 'target repository, s3://bucket/prefix or a folder (default: --offsite-repo)')
    .option('--verify-data', 'also read every blob of the snapshot back from the target');

  define(program, 'verify', 'prove snapshots restorable: exit 0 valid, 1 problems found (printed with snapshot, wedding, data type)', () => import('./commands/verify.js'))
    .argument('<snapshot>', 'snapshot id, "latest" or "all"', snapshotRef('latest', 'all'))
    .option('--read-data', 'also read every pack: decrypt, re-hash, recount rows, re-hash photos')
    .option('--read-data-subset <p>', 'read-data on a deterministic sample of packs, e.g. 10%', fraction)
    .option('--repository', 'also check the repository as a whole (keys, index, packs)');

  define(program, 'check', 'check the repository: keys, config, index against packs, pack headers, unreferenced packs', () =>
    import('./commands/verify.js').then((m) => ({ run: m.runCheck })),
  ).option('--read-data', 'also read every pack whole and check every blob');

  define(program, 'validate-data', 'check the live wedding data: required fields, timeline, guests, photo files', () => import('./commands/validate-data.js'))
    .option('--wedding <id>', 'only this wedding (repeatable)', collectUuid)
    .option('--time-zone <zone>', 'IANA zone the wedding day is measured in (default: this machine\'s)');

  define(program, 'restore', "guided restore: preview what changes, then restore it (--yes) after taking a recovery point; with --wedding ID --at ISO_TIME, the wedding as it was at that time (tier 1)", () => import('./commands/restore.js'))
    .argument('[snapshot]', 'snapshot id or "latest" (not with --at: the point in time picks its own)', snapshotRef('latest'))
    .addOption(new Option('--scope <scope>', 'complete | selective | wedding-only (required without --at)').choices(['complete', 'selective', 'wedding-only']))
    .option('--wedding <id>', 'wedding to restore (repeatable; required for wedding-only and --at)', collectUuid)
    .option('--at <iso-time>', "restore the wedding as it was at this time, within tier 1's window, e.g. 2026-06-01T14:00:00Z (queued when the database is unreachable)", isoInstant)
    .option('--data-types <list>', 'comma-separated: guests,timeline,photos,vendors (required for selective; with --at: only these)', dataTypes)
    .option('--target-url <url>', 'restore into this database instead of the live one (an empty one gets the schema too)')
    .option('--target-photo-store <location>', "with --target-url: write the photo files in scope to this photo store (a folder or s3://bucket/prefix); without it such a restore writes none and says so")
    .option('--dry-run', 'only show what would change')
    .option('--yes', 'confirm: restore without asking (with --at while the database is unreachable: run it as soon as it is back)')
    .hook('preAction', (cmd) => checkRestoreArguments(cmd.opts(), cmd.processedArgs[0] as string | undefined));

  define(program, 'undo', "undo a restore: bring back the recovery point it took (same weddings and tables)", () => import('./commands/undo.js'))
    .argument('<operation>', 'recovery operation id', uuid)
    .option('--target-url <url>', 'the database the restore wrote into, when it was not the live one')
    .option('--target-photo-store <location>', 'with --target-url: the photo store that restore wrote photo files to')
    .option('--dry-run', 'only show what would change')
    .option('--yes', 'confirm: undo without asking');

  define(program, 'export', "a wedding's run sheet (guests, timeline, vendors) from the local cache: works with no network", () => import('./commands/export.js'))
    .requiredOption('--wedding <id>', 'the wedding', uuid)
    .addOption(new Option('--format <format>', 'csv | json | pdf').choices(['csv', 'json', 'pdf']).makeOptionMandatory())
    .option('--out <file>', 'where to write it (default: run-sheet-<couple>-<date>.<format> here)');

  define(program, 'cache', "what the local cache holds (today's weddings, or one wedding's guests, timeline, vendors): no database needed", () => import('./commands/cache.js'))
    .option('--date <yyyy-mm-dd>', 'weddings of this day (default: today)')
    .option('--wedding <id>', 'one wedding in full', uuid)
    .option('--time-zone <zone>', "IANA zone 'today' is judged in (default: this machine's)");

  define(program, 'queued', 'restores queued while the database was unreachable: list, confirm ID (runs when the database is back), cancel ID', () => import('./commands/queued.js'))
    .addArgument(new Argument('<action>', 'list | confirm | cancel').choices(['list', 'confirm', 'cancel']))
    .addArgument(new Argument('[id]', 'queued restore id (confirm, cancel)').argParser(uuid))
    .option('--all', 'list finished ones too (done, failed, cancelled)')
    .hook('preAction', (cmd) => {
      if (cmd.processedArgs[0] !== 'list' && !cmd.processedArgs[1]) throw new WedsyncError('BAD_INPUT', `queued ${String(cmd.processedArgs[0])} needs the queued restore's id (see \`wedsync-backup queued list\`)`);
    });

  define(program, 'stream', 'run the tier 1 real-time stream into the local cache in the foreground (the agent runs it too)', () => import('./commands/stream.js'))
    .option('--wedding <id>', 'stream exactly this wedding (repeatable; default: weddings in their high-priority period)', collectUuid)
    .option('--time-zone <zone>', "IANA zone the wedding day is judged in (default: this machine's)");

  define(program, 'token', 'per-user API tokens: create --user EMAIL (printed once), list, revoke ID', () => import('./commands/token.js'))
    .addArgument(new Argument('<action>', 'create | list | revoke').choices(['create', 'list', 'revoke']))
    .addArgument(new Argument('[id]', 'token id (revoke)').argParser(uuid))
    .option('--user <email>', 'the user_profile the token acts as (create), or whose tokens to list')
    .option('--label <text>', 'what the token is for, e.g. "venue laptop" (create)')
    .option('--expires-days <n>', 'the token stops working after n days (create; default: never)', positiveInt)
    .option('--all', 'list revoked tokens too');

  define(program, 'key', 'repository keys: list, add (a new passphrase), remove ID, rotate-passphrase (of the key in use)', () => import('./commands/key.js'))
    .addArgument(new Argument('<action>', 'add | list | remove | rotate-passphrase').choices(['add', 'list', 'remove', 'rotate-passphrase']))
    .addArgument(new Argument('[keyId]', 'key id (remove)'))
    .option('--new-passphrase-file <file>', 'file holding the new passphrase (else env WEDSYNC_NEW_PASSPHRASE(_FILE), else a prompt); never on the command line')
    .option('--label <text>', 'who or what the new key is for (add)');

  define(program, 'audit', 'the audit log of sensitive actions: verify (hash chain; exit 1 if tampered), list', () => import('./commands/audit.js'))
    .addArgument(new Argument('<action>', 'verify | list').choices(['verify', 'list']))
    .option('--limit <n>', 'rows to list (default 50)', positiveInt)
    .option('--action <name>', 'only this action, e.g. restore.start');

  // Declared for later issues' commands to share the parsers; kept out of help until built.
  void fraction;

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      const json = argv.includes('--json');
      const message = err.message.replace(/^error: /, '');
      process.exitCode = printError(new WedsyncError('BAD_INPUT', message), json, false);
      return;
    }
    process.exitCode = printError(err, argv.includes('--json'), argv.includes('--verbose'));
    return;
  }
  process.exitCode = exitCode;
  // One-shot commands are done here. Should a handle leak (a socket left open on an error
  // path), do not hang the user's shell: this unref'd timer only fires if something does.
  const longRunning = ['agent', 'demo', 'stream'].includes(argv[2] ?? '');
  if (!longRunning) setTimeout(() => process.exit(exitCode), 3000).unref();
}
