import { homedir, platform, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * The OS's per-user data folder. Root gets /var/lib/wedsync-backup, as system services do:
 * root's home is not reachable by the `postgres` user that runs the embedded database.
 * Its own module (no zod, no commander): the fast offline read path (cli/fast-cache.ts) needs it.
 */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const os = platform();
  if (os === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'wedsync-backup');
  if (os === 'darwin') return join(homedir(), 'Library', 'Application Support', 'wedsync-backup');
  if (userInfo().uid === 0) return '/var/lib/wedsync-backup';
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'wedsync-backup');
}
