import { describe, expect, it } from 'vitest';
import { LoggingBlobStore } from './logging-store.js';
import { MemoryBlobStore } from './memory/memory-store.js';

describe('LoggingBlobStore', () => {
  it('logs each operation with its duration and outcome', async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const store = new LoggingBlobStore(new MemoryBlobStore('logged'), { debug: (obj, msg) => lines.push({ obj, msg }) });
    await store.put('a', Buffer.from('abc'));
    await store.get('a');
    await store.list('');
    await store.get('missing').catch(() => undefined);

    expect(lines.map((l) => l.msg)).toEqual(['storage put', 'storage get', 'storage list', 'storage get failed']);
    expect(lines[0]?.obj).toMatchObject({ store: 'memory://logged', op: 'put', name: 'a', bytes: 3 });
    expect(lines[1]?.obj).toMatchObject({ op: 'get', bytes: 3 });
    expect(lines[2]?.obj).toMatchObject({ op: 'list', prefix: '', count: 1 });
    expect(lines[3]?.obj).toMatchObject({ op: 'get', name: 'missing', error: 'BLOB_NOT_FOUND' });
    for (const l of lines) expect(typeof l.obj.durationMs).toBe('number');
  });
});
