import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type CodecTask, runCodecTask } from './codec-tasks.js';

/**
 * Entry point of a codec pool worker thread (codec-pool.ts). Always loaded as compiled
 * JavaScript from dist/ (worker threads cannot run TypeScript). Runs one batch and hands the
 * result buffer back without copying it (it is transferred, not cloned).
 */
export default function codecWorker(task: CodecTask): unknown {
  const result = runCodecTask(task);
  const buffer = 'plain' in result ? result.plain.buffer : result.sealed.buffer;
  return move({ [transferableSymbol]: [buffer], [valueSymbol]: result } as Parameters<typeof move>[0]);
}
