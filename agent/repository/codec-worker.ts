import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type CodecTask, runCodecTask } from './codec-tasks.js';

/**
 * Entry point of a codec pool worker thread (codec-pool.ts). Always loaded as compiled
 * JavaScript from dist/ (worker threads cannot run TypeScript). Runs one batch and hands the
 * result buffer back without copying it (it is transferred, not cloned).
 */
export default function codecWorker(task: CodecTask): unknown {
  const result = runCodecTask(task);
  if ('plain' in result) return move({ [transferableSymbol]: [result.plain.buffer], [valueSymbol]: result } as Parameters<typeof move>[0]);
  // The plaintext batch goes back too: the writer fills it again, instead of allocating a new one
  // per batch while the spent ones wait for this isolate's garbage collector.
  const input = task.bytes;
  const transfer = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength ? [result.sealed.buffer, input.buffer] : [result.sealed.buffer];
  const value = transfer.length === 2 ? { ...result, input } : result;
  return move({ [transferableSymbol]: transfer, [valueSymbol]: value } as Parameters<typeof move>[0]);
}
