import type { Logger } from 'pino';

export type { Logger };

/** Replaces the password of any URL-looking credentials in a string. */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)@/gi, '$1***@');
}

/**
 * Structured JSON-lines logger on stderr (stdout is reserved for command output, e.g. --json).
 * Secrets are redacted by path; connection strings by `redactSecrets` in messages.
 */
export async function createLogger(level: string, name = 'wedsync-backup'): Promise<Logger> {
  const { default: pino } = await import('pino');
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['passphrase', '*.passphrase', 'token', '*.token', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as typeof args;
          method.apply(this, redacted);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library callers. */
export async function silentLogger(): Promise<Logger> {
  return createLogger('silent');
}
