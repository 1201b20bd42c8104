import { randomInt } from 'node:crypto';

/**
 * Seeded randomness for fault injection: every random choice a fault test makes (which request
 * fails, where a process is killed, which byte is flipped) comes from one of these, so a failing
 * run can be replayed with the seed it printed.
 *
 * mulberry32: 32-bit state, fast, good enough to spread faults; not for cryptography.
 */
export interface Prng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new generator whose sequence depends only on this seed and `label`: independent streams per concern. */
  fork(label: string): Prng;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prng: Prng = {
    seed: seed >>> 0,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    fork: (label) => {
      let h = (seed ^ 0x9e3779b9) >>> 0;
      for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
      return createPrng(h);
    },
  };
  return prng;
}

/**
 * The seed of a fault run: RELIABILITY_SEED when set (to replay a failure), else a fresh one.
 * Tests print it on failure (reliability/profile.ts) so any run can be reproduced.
 */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.RELIABILITY_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`RELIABILITY_SEED must be an integer from 0 to 4294967295 (got ${given})`);
    return n;
  }
  return randomInt(0, 0xffffffff);
}
