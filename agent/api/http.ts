import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { WedsyncError } from '../contract/errors.js';
import { fieldErrors } from '../contract/validation.js';

/** Parses one part of a request with a contract schema; a bad one is a 400 naming each field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const fields = fieldErrors(result.error).map((f) => ({ field: f.field === '(root)' ? part : `${part}.${f.field}`, message: f.message }));
    throw new WedsyncError('BAD_INPUT', `invalid request ${part}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { details: { fields } });
  }
  return result.data;
}

/** Bodies already validated against a schema: cached answers (api/read-cache.ts) are sent many times. */
const validated = new WeakMap<object, WeakMap<z.ZodType, unknown>>();

/**
 * Validates a response against its schema before sending: a contract drift is our bug (500),
 * caught in tests. The same object sent again with the same schema is not validated again (at
 * 2000 weddings that is milliseconds per request): bodies must not be changed once sent.
 */
export function send<S extends z.ZodType>(reply: FastifyReply, schema: S, body: z.input<S>, status = 200): FastifyReply {
  const seen = typeof body === 'object' && body !== null ? validated.get(body) : undefined;
  if (seen?.has(schema)) return sendJson(reply, status, seen.get(schema));
  const result = schema.safeParse(body);
  if (!result.success) throw new WedsyncError('INTERNAL', `response does not match its contract: ${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`);
  if (typeof body === 'object' && body !== null) {
    const bySchema = seen ?? new WeakMap<z.ZodType, unknown>();
    bySchema.set(schema, result.data);
    validated.set(body, bySchema);
  }
  return sendJson(reply, status, result.data);
}

/** A custom serializer means fastify leaves the content type to us. */
function sendJson(reply: FastifyReply, status: number, data: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').serializer(jsonSerializer).send(data);
}

/** JSON bytes of answers already encoded (see json). */
const encoded = new WeakMap<object, Buffer>();

/**
 * The JSON of a response body, encoded once per object: a cached answer (hundreds of KB at 2000
 * weddings) sent to many callers is stringified and UTF-8 encoded once, not per request — that,
 * not computing the answers, was most of the agent's CPU under a polling load. Runs after the
 * preSerialization hooks, so an answer trimmed for a user (a new object) is encoded on its own.
 */
function json(payload: unknown): string | Buffer {
  if (typeof payload !== 'object' || payload === null) return JSON.stringify(payload);
  let bytes = encoded.get(payload);
  if (!bytes) encoded.set(payload, (bytes = Buffer.from(JSON.stringify(payload))));
  return bytes;
}

export type Req = FastifyRequest;

/**
 * Typed as fastify's serializer (string); a Buffer is what fastify hands on when an onSend hook
 * returns one, and it sends it as is (Content-Length from its length, no re-encoding).
 */
const jsonSerializer = json as (payload: unknown) => string;
