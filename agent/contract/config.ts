import { z } from 'zod';

/**
 * The agent's configuration after merging flags > environment > config file > defaults.
 * Every field is optional in the file; `resolveConfig` (agent/cli/config.ts) fills defaults.
 */
const storeLocation = z
  .string()
  .min(1)
  .refine((v) => !v.includes('\0'), 'must not contain NUL bytes');

export const postgresUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
    } catch {
      return false;
    }
  }, 'must be a postgres:// or postgresql:// URL');

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A duration as people write it — "500ms", "30s", "2m", "1h" — (or, in a config file, a number
 * of milliseconds) → milliseconds, within [min, max].
 */
export function durationMs(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    let ms: number;
    if (typeof v === 'number') ms = v;
    else {
      const m = DURATION.exec(v.trim());
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `must be a duration such as 500ms, 30s, 2m or 1h (got ${JSON.stringify(v)})` });
        return z.NEVER;
      }
      ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    }
    if (!Number.isFinite(ms) || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be from ${formatDuration(min)} to ${formatDuration(max)} (got ${typeof v === 'number' ? `${v} ms` : v})` });
      return z.NEVER;
    }
    return Math.round(ms);
  });
}

/** Milliseconds as the shortest exact duration text: 120000 → "2m", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && (ms % size === 0 || (ms * 10) % size === 0)) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** How long a backup's export waits for a lock another transaction holds (1 ms … 24 h). */
export const LockTimeoutSchema = durationMs(1, 24 * 3_600_000);
/** S3 timeouts (100 ms … 10 min). */
export const S3TimeoutSchema = durationMs(100, 10 * 60_000);

export const DEFAULT_LOCK_TIMEOUT_MS = 2 * 60_000;
export const DEFAULT_S3_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 30_000;

export const ConfigFileSchema = z
  .object({
    databaseUrl: postgresUrl.optional(),
    repo: storeLocation.optional(),
    offsiteRepo: storeLocation.optional(),
    photoStore: storeLocation.optional(),
    passphraseFile: z.string().min(1).optional(),
    home: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** Parallel export workers; default one per core. */
    parallelism: z.number().int().min(1).max(64).optional(),
    /** Target pack size in MiB. */
    packSizeMiB: z.number().int().min(1).max(512).optional(),
    /** How long a backup's export waits for a table another transaction locked ("2m"). */
    lockTimeout: LockTimeoutSchema.optional(),
    s3: z
      .object({
        /** Give up connecting after this long ("10s"). */
        connectTimeout: S3TimeoutSchema.optional(),
        /** Give up on a request whose connection sits silent this long, then retry ("30s"). */
        requestTimeout: S3TimeoutSchema.optional(),
      })
      .strict()
      .optional(),
    api: z
      .object({
        host: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65535).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export interface Config {
  databaseUrl: string | undefined;
  repo: string;
  offsiteRepo: string | undefined;
  photoStore: string;
  /** Never logged; comes from WEDSYNC_PASSPHRASE, WEDSYNC_PASSPHRASE_FILE or passphraseFile. */
  passphrase: string | undefined;
  home: string;
  logLevel: NonNullable<ConfigFile['logLevel']>;
  parallelism: number;
  packSizeMiB: number;
  /** Export lock wait bound (--lock-timeout, WEDSYNC_LOCK_TIMEOUT, lockTimeout). */
  lockTimeoutMs: number;
  /** S3 client timeouts (WEDSYNC_S3_CONNECT_TIMEOUT / WEDSYNC_S3_REQUEST_TIMEOUT, s3.*). */
  s3: { connectTimeoutMs: number; requestTimeoutMs: number };
  api: { host: string; port: number };
  /** Where each value came from, for `config show` and error messages. */
  sources: Record<string, 'flag' | 'env' | 'file' | 'default'>;
}
