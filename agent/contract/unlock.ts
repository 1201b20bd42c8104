import { z } from 'zod';

/**
 * Unlocking an agent that was started without the repository passphrase (`wedsync-backup agent
 * --unlock`): it serves the console and these two routes only, until an admin enters the
 * passphrase; then it starts in full on the same address with the same token.
 *
 *   GET  /api/unlock     { locked } — every agent answers (false once unlocked)
 *   POST /api/unlock     { passphrase } → 200 { unlocked: true }; admin only (the agent's own token,
 *                        or a user token of role admin); 5 attempts a minute (429 RATE_LIMITED
 *                        after that); a passphrase that opens no key → 401 WRONG_PASSPHRASE;
 *                        an agent that is not locked → 409 CONFLICT.
 *
 * The passphrase travels only in this body over the loopback API; it is never logged (the
 * logger censors `passphrase` wherever it appears) and never stored by the agent. In the desktop
 * app the passphrase goes to the main process instead (kept with the OS keychain) and the agent
 * child gets it in its environment.
 */
export const UnlockStatusSchema = z.object({
  locked: z.boolean(),
  /** Why it is locked (what the console shows). */
  reason: z.string().nullable(),
});
export type UnlockStatus = z.infer<typeof UnlockStatusSchema>;

export const UnlockRequestSchema = z.object({ passphrase: z.string().min(1, { error: 'is required' }).max(1024, { error: 'must be at most 1024 characters' }) }).strict();
export type UnlockRequest = z.infer<typeof UnlockRequestSchema>;

export const UnlockResponseSchema = z.object({ unlocked: z.literal(true) });
export type UnlockResponse = z.infer<typeof UnlockResponseSchema>;
