import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigFileSchema,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_S3_CONNECT_TIMEOUT_MS,
  DEFAULT_S3_REQUEST_TIMEOUT_MS,
  LockTimeoutSchema,
  S3TimeoutSchema,
  postgresUrl,
  type Config,
  type ConfigFile,
} from '../contract/config.js';
import { WedsyncError } from '../contract/errors.js';
import { defaultHome } from './home.js';
import { parseOrThrow } from '../contract/validation.js';

/** Flags the CLI passes in (commander's camel-cased option values). */
export interface ConfigFlags {
  config?: string;
  databaseUrl?: string;
  repo?: string;
  offsiteRepo?: string;
  photoStore?: string;
  home?: string;
  passphraseFile?: string;
  logLevel?: string;
  verbose?: boolean;
  parallelism?: number;
  lockTimeout?: string;
}

// The OS's per-user data folder (cli/home.ts: shared with the fast offline read path, which loads no zod).
export { defaultHome };

function readConfigFile(path: string, explicit: boolean): ConfigFile {
  if (!existsSync(path)) {
    if (explicit) throw new WedsyncError('BAD_INPUT', `config file ${path} does not exist`);
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new WedsyncError('BAD_INPUT', `config file ${path} is not valid JSON: ${(cause as Error).message}`);
  }
  return parseOrThrow(ConfigFileSchema, raw, `config file ${path}`);
}

function readPassphraseFile(path: string, origin: string): string {
  try {
    // Trailing newline is how editors save files; it is never part of the passphrase.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new WedsyncError('BAD_INPUT', `${origin}: cannot read passphrase file ${path}`);
  }
}

/** Merge flags > environment > config file > defaults, validating each source. */
export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const sources: Config['sources'] = {};
  const pick = <T>(key: string, flag: T | undefined, envValue: T | undefined, fileValue: T | undefined, fallback: T): T => {
    if (flag !== undefined && flag !== '') return (sources[key] = 'flag'), flag;
    if (envValue !== undefined && envValue !== '') return (sources[key] = 'env'), envValue;
    if (fileValue !== undefined) return (sources[key] = 'file'), fileValue;
    sources[key] = 'default';
    return fallback;
  };

  const explicitFile = flags.config ?? env.WEDSYNC_CONFIG;
  // The home folder decides where the default config file is, so it is resolved first.
  const preHome = flags.home ?? env.WEDSYNC_HOME ?? defaultHome(env);
  const file = readConfigFile(explicitFile ? resolve(explicitFile) : join(preHome, 'config.json'), Boolean(explicitFile));

  const home = resolve(pick('home', flags.home, env.WEDSYNC_HOME, file.home, defaultHome(env)));
  const databaseUrl = pick<string | undefined>('databaseUrl', flags.databaseUrl, env.DATABASE_URL, file.databaseUrl, undefined);
  if (databaseUrl !== undefined) {
    const origin = sources.databaseUrl === 'flag' ? '--database-url' : sources.databaseUrl === 'env' ? 'DATABASE_URL' : 'config databaseUrl';
    const ok = postgresUrl.safeParse(databaseUrl);
    if (!ok.success) throw new WedsyncError('BAD_INPUT', `${origin} must be a postgres:// or postgresql:// URL`);
  }
  const repo = pick('repo', flags.repo, env.WEDSYNC_REPO, file.repo, join(home, 'repository'));
  const offsiteRepo = pick<string | undefined>('offsiteRepo', flags.offsiteRepo, env.WEDSYNC_OFFSITE_REPO, file.offsiteRepo, undefined);
  const photoStore = pick('photoStore', flags.photoStore, env.WEDSYNC_PHOTO_STORE, file.photoStore, join(home, 'photos'));

  let passphrase: string | undefined;
  if (env.WEDSYNC_PASSPHRASE) {
    passphrase = env.WEDSYNC_PASSPHRASE;
    sources.passphrase = 'env';
  } else if (flags.passphraseFile) {
    passphrase = readPassphraseFile(flags.passphraseFile, '--passphrase-file');
    sources.passphrase = 'flag';
  } else if (env.WEDSYNC_PASSPHRASE_FILE) {
    passphrase = readPassphraseFile(env.WEDSYNC_PASSPHRASE_FILE, 'WEDSYNC_PASSPHRASE_FILE');
    sources.passphrase = 'env';
  } else if (file.passphraseFile) {
    passphrase = readPassphraseFile(file.passphraseFile, 'config passphraseFile');
    sources.passphrase = 'file';
  }
  if (passphrase === '') throw new WedsyncError('BAD_INPUT', 'the repository passphrase is empty');

  const levelFlag = flags.verbose ? 'debug' : flags.logLevel;
  const logLevel = parseOrThrow(
    ConfigFileSchema.shape.logLevel.unwrap(),
    pick('logLevel', levelFlag, env.WEDSYNC_LOG_LEVEL, file.logLevel, 'info'),
    'log level',
  );
  const parallelism = pick('parallelism', flags.parallelism, env.WEDSYNC_PARALLELISM ? Number(env.WEDSYNC_PARALLELISM) : undefined, file.parallelism, availableParallelism());
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) {
    throw new WedsyncError('BAD_INPUT', `parallelism must be an integer from 1 to 64 (got ${String(parallelism)})`);
  }
  const packSizeMiB = pick('packSizeMiB', undefined, undefined, file.packSizeMiB, 4);
  const apiPort = pick('apiPort', undefined, env.WEDSYNC_API_PORT ? Number(env.WEDSYNC_API_PORT) : undefined, file.api?.port, 0);
  if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535) {
    throw new WedsyncError('BAD_INPUT', `WEDSYNC_API_PORT must be a port number (got ${String(env.WEDSYNC_API_PORT)})`);
  }
  // Durations: the flag's or variable's text through the same schema as the file's value.
  const duration = (key: string, schema: typeof LockTimeoutSchema, names: { flag?: string; env: string; file: string }, flag: string | undefined, envValue: string | undefined, fileValue: number | undefined, fallback: number): number => {
    const raw = pick<string | number>(key, flag, envValue, fileValue, fallback);
    if (typeof raw === 'number') return raw;
    const origin = sources[key] === 'flag' ? names.flag! : names.env;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new WedsyncError('BAD_INPUT', `${origin} ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  };
  const lockTimeoutMs = duration('lockTimeout', LockTimeoutSchema, { flag: '--lock-timeout', env: 'WEDSYNC_LOCK_TIMEOUT', file: 'lockTimeout' }, flags.lockTimeout, env.WEDSYNC_LOCK_TIMEOUT, file.lockTimeout, DEFAULT_LOCK_TIMEOUT_MS);
  const s3 = {
    connectTimeoutMs: duration('s3ConnectTimeout', S3TimeoutSchema, { env: 'WEDSYNC_S3_CONNECT_TIMEOUT', file: 's3.connectTimeout' }, undefined, env.WEDSYNC_S3_CONNECT_TIMEOUT, file.s3?.connectTimeout, DEFAULT_S3_CONNECT_TIMEOUT_MS),
    requestTimeoutMs: duration('s3RequestTimeout', S3TimeoutSchema, { env: 'WEDSYNC_S3_REQUEST_TIMEOUT', file: 's3.requestTimeout' }, undefined, env.WEDSYNC_S3_REQUEST_TIMEOUT, file.s3?.requestTimeout, DEFAULT_S3_REQUEST_TIMEOUT_MS),
  };
  const apiHost = pick('apiHost', undefined, env.WEDSYNC_API_HOST, file.api?.host, '127.0.0.1');

  return {
    databaseUrl,
    repo,
    offsiteRepo,
    photoStore,
    passphrase,
    home,
    logLevel,
    parallelism,
    packSizeMiB,
    lockTimeoutMs,
    s3,
    api: { host: apiHost, port: apiPort },
    sources,
  };
}

/** The database URL, or a BAD_INPUT error that says how to give one. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new WedsyncError('BAD_INPUT', 'no database given: set DATABASE_URL or pass --database-url (or run `wedsync-backup demo`)');
  }
  return config.databaseUrl;
}

/** The passphrase, or a PASSPHRASE_REQUIRED error that says how to give one. */
export function requirePassphrase(config: Config): string {
  if (!config.passphrase) {
    throw new WedsyncError('PASSPHRASE_REQUIRED', 'no repository passphrase: set WEDSYNC_PASSPHRASE or WEDSYNC_PASSPHRASE_FILE (or --passphrase-file)');
  }
  return config.passphrase;
}
