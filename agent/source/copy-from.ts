import { once } from 'node:events';
import type { Socket } from 'node:net';
import type pg from 'pg';

/**
 * `COPY … FROM STDIN` over a pg client's connection, writing the caller's buffers as they are:
 * each part is one CopyData message (a 5-byte header, then the part itself), and the messages of
 * about COPY_BATCH bytes go to the socket corked together — one writev, no copy of the data into
 * batches on our side (pg-copy-streams' `from` takes a stream, so its callers concatenated small
 * segments first: for a complete restore that was every byte copied once more, and the garbage
 * collector's work that goes with it).
 *
 * Speaks the protocol the way pg-copy-streams does (a pg "submittable": pg hands it the
 * connection and the server's messages). Guarantees: resolves with the rows COPY reports once the
 * server is ready again; if `parts` throws, the COPY is failed (CopyFail) and the error rethrown
 * once the server has answered, so the connection is usable (its transaction aborted); a server
 * error or a lost connection rejects. Backpressure: waits for the socket to drain between batches.
 */

/** Bytes written to the socket at once, at least (the last batch may be smaller). */
const COPY_BATCH = 256 * 1024;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited only on some paths: a rejection nobody waits for is expected, not unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** What pg's Connection offers a submittable (the parts we use). */
interface PgConnection {
  stream: Socket;
  query(text: string): void;
  sendCopyFail(message: string): void;
}

class CopyFromQuery {
  rowCount = 0;
  /** Set when the server refused the COPY (or the connection broke): stop sending. */
  failure: unknown = undefined;
  connection: PgConnection | null = null;
  readonly started = deferred<void>();
  readonly finished = deferred<void>();

  constructor(readonly text: string) {}

  /** pg: the query's turn on the connection. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  /** pg overwrites this with its query_timeout mechanism when one is set. */
  callback(): void {}

  handleCopyInResponse(): void {
    this.started.resolve();
  }

  handleCommandComplete(msg: { text?: string } | undefined): void {
    const m = /COPY (\d+)/.exec(msg?.text ?? '');
    if (m) this.rowCount = Number(m[1]);
  }

  handleReadyForQuery(): void {
    this.callback();
    this.finished.resolve();
  }

  handleError(err: unknown): void {
    this.callback();
    this.failure ??= err;
    this.started.reject(err);
    this.finished.reject(err);
  }
}

const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

function header(length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = 0x64; // CopyData
  h.writeUInt32BE(length + 4, 1);
  return h;
}

export async function copyFrom(client: pg.Client, sql: string, parts: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<number> {
  const q = new CopyFromQuery(sql);
  void client.query(q as unknown as pg.QueryConfig);
  await q.started.promise;
  const connection = q.connection!;
  const socket = connection.stream;
  let batch: Buffer[] = [];
  let size = 0;
  const flush = async () => {
    if (!batch.length) return;
    socket.cork();
    for (const part of batch) {
      socket.write(header(part.length));
      socket.write(part);
    }
    socket.uncork();
    batch = [];
    size = 0;
    // The server reads slower than we decode: wait until the socket has room (or the COPY ended badly).
    if (socket.writableNeedDrain) await Promise.race([once(socket, 'drain'), q.finished.promise]);
  };
  try {
    for await (const part of parts) {
      // The server already refused (a bad row, a trigger): what is left would only be dropped.
      if (q.failure !== undefined) break;
      if (!part.length) continue;
      batch.push(part);
      size += part.length;
      if (size >= COPY_BATCH) await flush();
    }
    await flush();
  } catch (err) {
    // Fail the COPY (the server rolls it back and answers with an error, then is ready again).
    try {
      connection.sendCopyFail(err instanceof Error ? err.message.slice(0, 200) : 'restore stopped');
    } catch {
      // The connection is gone: nothing to fail.
    }
    await q.finished.promise.catch(() => undefined);
    throw err;
  }
  socket.write(COPY_DONE);
  await q.finished.promise;
  return q.rowCount;
}
