import { onTestFailed } from 'vitest';
import { createPrng, runSeed, type Prng } from '../test-support/faults/prng.js';

/**
 * The reliability suite's two profiles. The quick one (default, part of `npm test` in CI) keeps
 * every fault kind but few repetitions and small data; RELIABILITY_FULL=1 runs the long one
 * (more kill points, more weddings, the 60 s load). Counts a test uses come from `pick`.
 */
export const FULL = process.env.RELIABILITY_FULL === '1';

/** `quick` normally, `full` under RELIABILITY_FULL=1. */
export function pick<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}

/** One seed per test file run (RELIABILITY_SEED replays one). */
const SEED = runSeed();

/**
 * The seeded PRNG of the current test, forked by `label` so tests do not share a stream. Must be
 * called inside a test: on failure, the seed and how to replay it are printed.
 */
export function seeded(label: string): Prng {
  onTestFailed(() => {
    process.stderr.write(`\n[reliability] ${label}: seed ${SEED} — replay with RELIABILITY_SEED=${SEED}${FULL ? ' RELIABILITY_FULL=1' : ''}\n`);
  });
  return createPrng(SEED).fork(label);
}

/** Figures a test measured (faults injected, runs survived, rows lost), printed at the end for bench/RESULTS.md. */
export function report(label: string, figures: Record<string, number | string>): void {
  process.stdout.write(`[reliability] ${label}: ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')} (seed ${SEED})\n`);
}
