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
  if (seen?.has(schema)) return reply.code(status).send(seen.get(schema));
  const result = schema.safeParse(body);
  if (!result.success) throw new WedsyncError('INTERNAL', `response does not match its contract: ${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`);
  if (typeof body === 'object' && body !== null) {
    const bySchema = seen ?? new WeakMap<z.ZodType, unknown>();
    bySchema.set(schema, result.data);
    validated.set(body, bySchema);
  }
  return reply.code(status).send(result.data);
}

export type Req = FastifyRequest;
