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
  api: { host: string; port: number };
  /** Where each value came from, for `config show` and error messages. */
  sources: Record<string, 'flag' | 'env' | 'file' | 'default'>;
}
