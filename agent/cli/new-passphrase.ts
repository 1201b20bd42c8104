import { readFile } from 'node:fs/promises';
import { WedsyncError } from '../contract/errors.js';

/**
 * Where a NEW repository passphrase comes from (key add, key rotate-passphrase) — never argv,
 * where any user of the machine could read it (ps, /proc/<pid>/cmdline, shell history):
 *   1. --new-passphrase-file FILE (trailing newline dropped, as editors save files)
 *   2. WEDSYNC_NEW_PASSPHRASE, or WEDSYNC_NEW_PASSPHRASE_FILE
 *   3. a prompt on the terminal, typed twice, not echoed.
 * This is the one place commands read the environment for a secret the config does not carry.
 */
export const MIN_PASSPHRASE_LENGTH = 8;

export interface NewPassphraseSource {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Terminal prompt; default: stdin when it is a TTY. */
  prompt?: ((question: string) => Promise<string>) | null;
}

async function fromFile(path: string, origin: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch {
    throw new WedsyncError('BAD_INPUT', `${origin}: cannot read passphrase file ${path}`);
  }
}

export async function readNewPassphrase(source: NewPassphraseSource = {}): Promise<string> {
  const env = source.env ?? process.env;
  let passphrase: string;
  if (source.file) passphrase = await fromFile(source.file, '--new-passphrase-file');
  else if (env.WEDSYNC_NEW_PASSPHRASE) passphrase = env.WEDSYNC_NEW_PASSPHRASE;
  else if (env.WEDSYNC_NEW_PASSPHRASE_FILE) passphrase = await fromFile(env.WEDSYNC_NEW_PASSPHRASE_FILE, 'WEDSYNC_NEW_PASSPHRASE_FILE');
  else {
    const prompt = source.prompt === undefined ? (process.stdin.isTTY ? promptHidden : null) : source.prompt;
    if (!prompt) throw new WedsyncError('BAD_INPUT', 'no new passphrase: pass --new-passphrase-file FILE, set WEDSYNC_NEW_PASSPHRASE(_FILE), or run in a terminal to be asked');
    passphrase = await prompt('New passphrase: ');
    const again = await prompt('Repeat it: ');
    if (again !== passphrase) throw new WedsyncError('BAD_INPUT', 'the two passphrases differ; nothing was changed');
  }
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new WedsyncError('BAD_INPUT', `the new passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  return passphrase;
}

/** Reads one line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new WedsyncError('BAD_INPUT', 'cancelled; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
