import { hostname, userInfo } from 'node:os';

/** How the person at this terminal is named in audit rows: "cli:<os user>@<host>". */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `cli:${user}@${hostname()}`;
}
