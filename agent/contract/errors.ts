/**
 * The catalogue of error codes (after pgBackRest's error.yaml): every failure the product
 * reports carries one of these, so the CLI can pick its exit code, the API its HTTP status,
 * and the console a message, without parsing text.
 */
export const ERROR_CODES = {
  /** Bad flag, bad argument, bad config value: the user must change what they typed. */
  BAD_INPUT: { exit: 2, http: 400 },
  /** A named thing (snapshot, wedding, operation) does not exist. */
  NOT_FOUND: { exit: 2, http: 404 },
  /** The wedding database or the catalog cannot be reached (refused, timeout, auth). */
  DB_UNREACHABLE: { exit: 1, http: 503 },
  /** A storage target (folder, S3) cannot be reached or refused the operation. */
  STORAGE_UNAVAILABLE: { exit: 1, http: 503 },
  /** The folder exists but we may not write there. */
  STORAGE_NOT_WRITABLE: { exit: 2, http: 400 },
  /** The repository passphrase does not unwrap any key. */
  WRONG_PASSPHRASE: { exit: 2, http: 401 },
  /** No passphrase given where the repository needs one. */
  PASSPHRASE_REQUIRED: { exit: 2, http: 400 },
  /** The repository does not exist yet (run init) or is not a repository. */
  REPO_NOT_INITIALISED: { exit: 2, http: 409 },
  /** Repository written by a newer, incompatible version. */
  REPO_VERSION_UNSUPPORTED: { exit: 2, http: 409 },
  /** Data read back does not match its hash, or cannot be decrypted: corruption or tampering. */
  INTEGRITY: { exit: 1, http: 422 },
  /** A blob that should exist is missing. */
  BLOB_NOT_FOUND: { exit: 1, http: 404 },
  /** A conflicting operation holds a lock, or a token was used twice. */
  CONFLICT: { exit: 1, http: 409 },
  /** Authentication missing or wrong. */
  UNAUTHENTICATED: { exit: 2, http: 401 },
  /** Authenticated but not allowed. */
  FORBIDDEN: { exit: 2, http: 403 },
  /** A check (verify, validate-data) found problems. */
  CHECK_FAILED: { exit: 1, http: 200 },
  /** The job was cancelled at a safe point. */
  CANCELLED: { exit: 1, http: 409 },
  /** Too many attempts in a short time (unlocking with a passphrase): wait and try again. */
  RATE_LIMITED: { exit: 1, http: 429 },
  /** Anything we did not anticipate: a bug. */
  INTERNAL: { exit: 3, http: 500 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type the product throws on purpose. `message` is one line, meant for the user. */
export class WedsyncError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WedsyncError';
    this.code = code;
    this.details = options?.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

export function isWedsyncError(err: unknown, code?: ErrorCode): err is WedsyncError {
  return err instanceof WedsyncError && (code === undefined || err.code === code);
}
