import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultHome } from './home.js';

/**
 * The wedding-day read path of `wedsync-backup cache [--wedding ID] [--date D] [--json]`, run
 * before commander, zod and the logger are loaded: a coordinator opening today's wedding in a
 * fresh process must see it in well under 100 ms (issue 7), and those three are most of a full
 * CLI start. It handles only the plain forms (the flags below, no config file, a cache that
 * passes its check); anything else — help, a bad value, a config file, a damaged cache that needs
 * rebuilding from the repository — returns false and the full command line handles it, with
 * the same output and exit codes.
 *
 * Guarantees: output byte for byte as `cache` prints it (the same render functions); never a
 * cache that failed its check (quick_check, or the clean-close marker of cache/open.ts).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

interface FastArgs {
  json: boolean;
  wedding?: string;
  home?: string;
  date?: string;
  timeZone?: string;
}

function parseArgs(args: string[]): FastArgs | null {
  const out: FastArgs = { json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      return v === undefined || v.startsWith('-') ? null : v;
    };
    if (a === '--json') out.json = true;
    else if (a === '--wedding') {
      const v = value();
      if (!v || !UUID.test(v) || out.wedding) return null;
      out.wedding = v.toLowerCase();
    } else if (a === '--home') {
      const v = value();
      if (!v) return null;
      out.home = v;
    } else if (a === '--date') {
      const v = value();
      if (!v || !DATE.test(v)) return null;
      out.date = v;
    } else if (a === '--time-zone') {
      const v = value();
      if (!v) return null;
      out.timeZone = v;
    } else return null;
  }
  return out;
}

/** Runs `cache` without the full CLI when it can; false: hand it to the full CLI. */
export async function tryFastCache(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (argv[2] !== 'cache') return false;
  const args = parseArgs(argv.slice(3));
  if (!args || env.WEDSYNC_CONFIG) return false;
  const home = resolve(args.home ?? env.WEDSYNC_HOME ?? defaultHome(env));
  // A config file may set anything (even where the home is): the full CLI reads and checks it.
  if (existsSync(join(home, 'config.json'))) return false;
  if (args.timeZone && !validZone(args.timeZone)) return false;
  const [{ cachePath, openCache, probeCache }, { readOfflineWedding, localDate }, { weddingResult, dayResult, timeZoneOf }, { printResult, printError }] = await Promise.all([
    import('../cache/open.js'),
    import('../jobs/offline.js'),
    import('./commands/cache.js'),
    import('./output.js'),
  ]);
  const path = cachePath(home);
  // Damaged: the full CLI moves it aside and rebuilds it from the local repository (passphrase, logs).
  if (probeCache(path).problems.length) return false;
  let exitCode = 0;
  const { store } = openCache(path, { check: 'auto' });
  try {
    const result = args.wedding
      ? weddingResult(readOfflineWedding(store, args.wedding), null)
      : await dayResult(store, args.date ?? localDate(new Date(), timeZoneOf(args.timeZone ? { timeZone: args.timeZone } : {})), null);
    printResult(result, args.json);
  } catch (err) {
    exitCode = printError(err, args.json, false);
  } finally {
    store.close();
  }
  process.exitCode = exitCode;
  return true;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
