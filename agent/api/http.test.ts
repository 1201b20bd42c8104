import Fastify from 'fastify';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { send } from './http.js';

describe('send: answers validated and encoded once per object', () => {
  const app = Fastify();
  const schema = z.object({ items: z.array(z.object({ id: z.string(), note: z.string() })) });
  const cached = { items: Array.from({ length: 500 }, (_, i) => ({ id: `w${i}`, note: 'ünïcode ✓' })) };
  app.addHook('preSerialization', async (req, _reply, payload) => {
    // As api/authz.ts trims for a user: a new object, which must be what is sent.
    if (req.headers['x-trim'] && typeof payload === 'object' && payload !== null && 'items' in payload) return { items: (payload as typeof cached).items.slice(0, 2) };
    return payload;
  });
  app.get('/cached', async (_req, reply) => send(reply, schema, cached));
  app.get('/fresh', async (_req, reply) => send(reply, schema, { items: [{ id: 'x', note: 'y' }] }));
  afterAll(() => app.close());

  it('sends the same JSON every time, as JSON, and honours preSerialization hooks', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ method: 'GET', url: '/cached' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
      expect(r.json()).toEqual(cached);
    }
    const trimmed = await app.inject({ method: 'GET', url: '/cached', headers: { 'x-trim': '1' } });
    expect(trimmed.json()).toEqual({ items: cached.items.slice(0, 2) });
    expect((await app.inject({ method: 'GET', url: '/fresh' })).json()).toEqual({ items: [{ id: 'x', note: 'y' }] });
  });
});
