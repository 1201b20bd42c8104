import type { DestinationStream, Logger } from 'pino';

export type { Logger };

/**
 * Masks secrets inside free text: the password of any URL-looking credentials
 * (postgres://user:PASSWORD@host), bearer tokens ("Bearer abc…") and per-user API tokens (wsb_…).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)@/gi, '$1***@')
    .replace(/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
    .replace(/\bwsb_[A-Za-z0-9_-]{8,}/g, 'wsb_***')
    // Event-stream tickets and any token put in a query string (agent/api/event-tickets.ts).
    .replace(/([?&](?:ticket|token)=)[^&\s"']+/gi, '$1***');
}

/** redactSecrets applied to every string of a log record (messages were covered; objects' strings were not). */
function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: redactSecrets(value.message), ...(value.stack ? { stack: redactSecrets(value.stack) } : {}) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out;
}

/** Keys whose values are secrets wherever they appear (censored by path, before anything else). */
const SECRET_PATHS = ['passphrase', 'newPassphrase', 'password', 'token', 'confirmationToken', 'apiToken', 'ticket', 'secret', 'authorization', 'cookie', 'databaseUrl', 'connectionString'].flatMap((k) => [k, `*.${k}`]);

/**
 * Structured JSON-lines logger on stderr (stdout is reserved for command output, e.g. --json).
 * Secrets never reach the output: keys that name secrets are censored by path (SECRET_PATHS,
 * headers.authorization), and every string — message or field, nested — goes through
 * `redactSecrets`. `destination` replaces stderr (tests capture logs to grep them).
 */
export async function createLogger(level: string, name = 'wedsync-backup', destination?: DestinationStream): Promise<Logger> {
  const { default: pino } = await import('pino');
  return pino(
    {
      name,
      level,
      redact: {
        paths: [...SECRET_PATHS, 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie'],
        censor: '[redacted]',
      },
      formatters: {
        level: (label) => ({ level: label }),
        log: (record) => redactDeep(record) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as typeof args;
          method.apply(this, redacted);
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library callers. */
export async function silentLogger(): Promise<Logger> {
  return createLogger('silent');
}
