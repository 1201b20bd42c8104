import { WedsyncError } from '../../contract/errors.js';
import type { KeyInfo } from '../../repository/keys.js';
import { cliActor } from '../actor.js';
import { requirePassphrase } from '../config.js';
import type { CommandContext } from '../context.js';
import { readNewPassphrase } from '../new-passphrase.js';
import { table, type CommandResult } from '../output.js';

/**
 * `wedsync-backup key add|list|remove|rotate-passphrase`: the repository's key files (each
 * wraps the one master key under a passphrase). The repository is opened with the configured
 * passphrase; a new one is read by readNewPassphrase (file, environment or prompt — never argv).
 * Key changes are written to the audit log when a database is configured; without one the
 * change still happens (keys must be manageable with the database gone) and `audited` says so.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const [sub, keyId] = args;
  const { openRepo } = await import('../repo.js');
  const repo = await openRepo(ctx.config.repo, requirePassphrase(ctx.config), ctx.logger);
  try {
    switch (sub) {
      case 'list': {
        const keys = await repo.listKeys();
        return {
          json: { ok: true, keys },
          text: table(['ID', 'LABEL', 'CREATED', 'KDF', 'IN USE'], keys.map((k) => [k.id, k.label, k.created.slice(0, 19).replace('T', ' '), `scrypt N=${k.kdf.N} r=${k.kdf.r} p=${k.kdf.p}`, k.current ? 'yes (this passphrase)' : ''])),
        };
      }
      case 'add': {
        const passphrase = await readNewPassphrase({ file: opts.newPassphraseFile as string | undefined });
        const key = await repo.addKey(passphrase, { label: (opts.label as string | undefined) ?? '' });
        const audited = await audit(ctx, 'key.add', key, repo.location);
        return done({ key, audited }, `added key ${key.id}${key.label ? ` (${key.label})` : ''}: the new passphrase opens the repository too`);
      }
      case 'remove': {
        if (!keyId) throw new WedsyncError('BAD_INPUT', 'key remove needs the key id (see `wedsync-backup key list`)');
        const key = (await repo.listKeys()).find((k) => k.id === keyId);
        await repo.removeKey(keyId);
        const audited = await audit(ctx, 'key.remove', key ?? { id: keyId }, repo.location);
        return done({ keyId, audited }, `removed key ${keyId}: its passphrase no longer opens the repository`);
      }
      case 'rotate-passphrase': {
        const passphrase = await readNewPassphrase({ file: opts.newPassphraseFile as string | undefined });
        const key = await repo.changePassphrase(passphrase);
        const audited = await audit(ctx, 'key.rotate-passphrase', key, repo.location);
        return done({ key, audited }, `changed the passphrase of key ${key.id}: update WEDSYNC_PASSPHRASE(_FILE) and the desktop app's keychain entry`);
      }
      default:
        throw new WedsyncError('BAD_INPUT', `unknown key command ${JSON.stringify(sub)} (expected add, list, remove or rotate-passphrase)`);
    }
  } finally {
    await repo.store.close();
  }

  function done(json: Record<string, unknown>, text: string): CommandResult {
    const note = json.audited ? '' : '\nnote: not written to the audit log (no database configured, or it could not be reached)';
    return { json: { ok: true, ...json }, text: text + note };
  }
}

/** Best effort: the key change already happened; failing here would hide that. */
async function audit(ctx: CommandContext, action: string, key: Pick<KeyInfo, 'id'> & Partial<KeyInfo>, repository: string): Promise<boolean> {
  if (!ctx.config.databaseUrl) return false;
  try {
    const { openAuditLog } = await import('../../catalog/audit.js');
    const log = await openAuditLog(ctx.config.databaseUrl);
    try {
      await log.record({ action, outcome: 'succeeded', actor: { label: cliActor() }, target: `key:${key.id}`, details: { keyId: key.id, label: key.label ?? null, repository } });
    } finally {
      await log.close();
    }
    return true;
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message, action }, 'key change not written to the audit log');
    return false;
  }
}
