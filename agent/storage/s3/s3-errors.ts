import { WedsyncError } from '../../contract/errors.js';
import { blobNotFound } from '../errors.js';

/** Error names and socket codes after which the same request may well succeed. */
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'TooManyRequestsException',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const FORBIDDEN_NAMES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'AccountProblem']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  errors?: unknown;
}

export interface S3ErrorContext {
  /** The BlobStore operation, for the message ("put", "get", ...). */
  op: string;
  /** s3://bucket/prefix */
  location: string;
  /** The blob, when the operation names one. */
  name?: string;
}

/**
 * Turns an SDK or socket error into the BlobStore error catalogue. The message is built only
 * from the error's name, socket code and HTTP status, never from server text or the request,
 * so it stays on one line and cannot carry credentials. `cause` is a copy of the SDK error
 * without its `$response`, which holds the signed request (Authorization header, key id).
 */
export function mapS3Error(err: unknown, ctx: S3ErrorContext): unknown {
  if (err instanceof WedsyncError) return err;
  if (typeof err !== 'object' || err === null) return err;
  const e = err as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = socketCode(e);
  const status = e.$metadata?.httpStatusCode;
  const subject = ctx.name === undefined ? ctx.location : `blob ${JSON.stringify(ctx.name)} in ${ctx.location}`;
  // A bare socket error is named just "Error": its code (ECONNREFUSED) says more.
  const label = name === 'Error' && code !== undefined ? undefined : name;
  const what = [label, code, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ') + stallNote(name, err);
  const cause = safeCopy(err as Error, name, code, e);
  const details = { location: ctx.location, op: ctx.op, errorName: name, ...(code ? { errno: code } : {}), ...(status ? { httpStatus: status } : {}) };

  if (name === 'NoSuchBucket') {
    return new WedsyncError('STORAGE_UNAVAILABLE', `S3 ${ctx.op} failed: the bucket of ${ctx.location} does not exist`, {
      cause,
      details: { ...details, retryable: false },
    });
  }
  if (ctx.name !== undefined && (name === 'NoSuchKey' || name === 'NotFound' || status === 404)) {
    return blobNotFound(ctx.location, ctx.name, cause);
  }
  if (status === 403 || FORBIDDEN_NAMES.has(name)) {
    return new WedsyncError('STORAGE_NOT_WRITABLE', `S3 refused ${ctx.op} of ${subject}: ${what}`, { cause, details });
  }
  const retryable =
    (status !== undefined && (status >= 500 || status === 429)) ||
    TRANSIENT_NAMES.has(name) ||
    (code !== undefined && TRANSIENT_CODES.has(code)) ||
    e.$retryable !== undefined;
  return new WedsyncError('STORAGE_UNAVAILABLE', `S3 ${ctx.op} of ${subject} failed: ${what}`, {
    cause,
    details: { ...details, retryable },
  });
}

/**
 * For the SDK's own timeouts, which bound a stalled connection: which one ran out and after how
 * long (only the number is taken from the SDK's message), and the setting that sets it.
 */
function stallNote(name: string, err: unknown): string {
  if (name !== 'TimeoutError') return '';
  const message = (err as { message?: unknown }).message;
  const text = typeof message === 'string' ? message : '';
  const ms = /(\d+)\s*ms/.exec(text)?.[1];
  if (/inactivity/i.test(text)) return ` (the connection stalled: nothing sent or received for ${ms ?? '?'} ms — timed out after ${ms ?? '?'} ms of inactivity; WEDSYNC_S3_REQUEST_TIMEOUT)`;
  if (/connect/i.test(text)) return ` (no connection within ${ms ?? '?'} ms; WEDSYNC_S3_CONNECT_TIMEOUT)`;
  return ms ? ` (after ${ms} ms)` : '';
}

/** The socket code, also from inside an AggregateError (Node tries IPv4 and IPv6 and reports both). */
function socketCode(e: SdkErrorShape): string | undefined {
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = (inner as SdkErrorShape | null)?.code;
      if (typeof code === 'string') return code;
    }
  }
  return undefined;
}

/** The SDK error minus `$response`: name, message, stack, code and request metadata only. */
function safeCopy(err: Error, name: string, code: string | undefined, e: SdkErrorShape): Error {
  const copy = new Error(typeof err.message === 'string' ? err.message : name);
  copy.name = name;
  if (typeof err.stack === 'string') copy.stack = err.stack;
  return Object.assign(copy, { ...(code ? { code } : {}), ...(e.$metadata ? { $metadata: e.$metadata } : {}) });
}
