import { WedsyncError } from '../../contract/errors.js';
import type { TokenInfo } from '../../catalog/tokens.js';
import { cliActor } from '../actor.js';
import { requireDatabaseUrl } from '../config.js';
import type { CommandContext } from '../context.js';
import { table, type CommandResult } from '../output.js';

/**
 * `wedsync-backup token create --user EMAIL | list | revoke ID`: per-user API tokens. The token
 * is printed once, by `create`, and never stored (only its hash); `list` shows ids, users and
 * prefixes. Issue and revoke are audited in the same transaction.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>, args: string[]): Promise<CommandResult> {
  const [sub, id] = args;
  const url = requireDatabaseUrl(ctx.config);
  const { withClient } = await import('../../source/db.js');
  const tokens = await import('../../catalog/tokens.js');
  return withClient(url, async (client) => {
    switch (sub) {
      case 'create': {
        const email = opts.user as string | undefined;
        if (!email) throw new WedsyncError('BAD_INPUT', 'token create needs --user EMAIL (the user_profile the token acts as)');
        const days = opts.expiresDays as number | undefined;
        const expiresAt = days ? new Date(Date.now() + days * 86_400_000) : null;
        const { token, info } = await tokens.issueToken(client, { email, label: (opts.label as string | undefined) ?? '', expiresAt, issuedBy: cliActor() });
        return {
          json: { ok: true, token, tokenInfo: info },
          text: `${token}\n\nAPI token ${info.id} for ${info.email} (${info.role})${info.expiresAt ? `, expires ${info.expiresAt}` : ''}.\nIt is shown only now: store it in a password manager. Send it as "Authorization: Bearer <token>".`,
        };
      }
      case 'list': {
        const list = await tokens.listTokens(client, { ...(opts.user ? { email: opts.user as string } : {}), includeRevoked: Boolean(opts.all) });
        return { json: { ok: true, tokens: list }, text: list.length ? listTable(list) : 'no API tokens: create one with `wedsync-backup token create --user EMAIL`' };
      }
      case 'revoke': {
        if (!id) throw new WedsyncError('BAD_INPUT', 'token revoke needs the token id (see `wedsync-backup token list`)');
        const { info, alreadyRevoked } = await tokens.revokeToken(client, id, cliActor());
        return { json: { ok: true, alreadyRevoked, tokenInfo: info }, text: alreadyRevoked ? `token ${id} was already revoked at ${info.revokedAt}` : `revoked token ${id} of ${info.email}` };
      }
      default:
        throw new WedsyncError('BAD_INPUT', `unknown token command ${JSON.stringify(sub)} (expected create, list or revoke)`);
    }
  });
}

function listTable(list: TokenInfo[]): string {
  const day = (s: string | null) => (s ? s.slice(0, 16).replace('T', ' ') : '');
  return table(
    ['ID', 'USER', 'ROLE', 'PREFIX', 'LABEL', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'],
    list.map((t) => [t.id, t.email, t.role, `${t.prefix}…`, t.label, day(t.createdAt), day(t.lastUsedAt), day(t.expiresAt), day(t.revokedAt)]),
  );
}
