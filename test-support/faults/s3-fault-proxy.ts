import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createPrng, type Prng } from './prng.js';

/**
 * An HTTP proxy in front of the S3 test server (test-support/s3.ts) that breaks a share of the
 * requests passing through, the ways a real network and a real S3 break:
 *
 *   status-500   answers 500 InternalError without forwarding (S3's "We encountered an internal error")
 *   status-503   answers 503 SlowDown without forwarding (S3 throttling)
 *   reset        destroys the client's connection: half the time before forwarding (the request
 *                never arrived), half the time AFTER S3 applied it (the answer is lost: a PUT or
 *                DELETE that happened although the client saw an error)
 *   stall        holds the request `stallMs` without answering, then resets the connection
 *   truncate     an upload (request with a body): reads part of the body, then cuts the connection
 *                without forwarding (S3 discards an incomplete upload; s3rver would store the
 *                prefix, which real S3 never does). A download: forwards, then sends the headers
 *                (full Content-Length) and only part of the body before cutting the connection.
 *   hang         (only when asked for in `faults`) a connection that stalls forever: never
 *                answers — or, for half the downloads, sends the headers and part of the body —
 *                and never closes; only the client's own timeout ends it (or stop()).
 *
 * Which request gets which fault comes from a seeded PRNG, so the sequence of decisions is
 * reproducible with the seed (the order requests arrive in under concurrency is not).
 * `setDown(true)` models S3 being unreachable: every connection is reset as it arrives.
 * `stats` counts what was injected, for the report.
 */
export type S3Fault = 'status-500' | 'status-503' | 'reset' | 'stall' | 'truncate' | 'hang';
/** The default kinds: every one that ends by itself ('hang' waits for the client's timeout). */
export const ALL_S3_FAULTS: readonly S3Fault[] = ['status-500', 'status-503', 'reset', 'stall', 'truncate'];

export interface S3FaultProxyOptions {
  /** The real server, http://127.0.0.1:<port>. */
  target: string;
  seed: number;
  /** Probability that a request gets a fault, [0, 1]. */
  rate: number;
  /** The kinds to choose from (default all). */
  faults?: readonly S3Fault[];
  /** How long a stalled request is held before its connection is reset (default 300 ms). */
  stallMs?: number;
}

export interface S3FaultStats {
  requests: number;
  /** Requests forwarded and answered untouched. */
  passed: number;
  faults: Record<S3Fault, number>;
  /** Connections refused while down. */
  refused: number;
}

export interface S3FaultProxy {
  /** http://127.0.0.1:<port>: give this to the S3 client as its endpoint. */
  endpoint: string;
  readonly stats: S3FaultStats;
  /** Total faults injected (every kind, plus refusals while down). */
  injected(): number;
  setRate(rate: number): void;
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

const S3_ERRORS: Record<'status-500' | 'status-503', { status: number; code: string; message: string }> = {
  'status-500': { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  'status-503': { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
};

export async function startS3FaultProxy(options: S3FaultProxyOptions): Promise<S3FaultProxy> {
  const target = new URL(options.target);
  const kinds = options.faults ?? ALL_S3_FAULTS;
  if (kinds.length === 0) throw new Error('startS3FaultProxy: faults must name at least one kind');
  const stallMs = options.stallMs ?? 300;
  const prng: Prng = createPrng(options.seed);
  let rate = options.rate;
  let down = false;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const stats: S3FaultStats = { requests: 0, passed: 0, refused: 0, faults: { 'status-500': 0, 'status-503': 0, reset: 0, stall: 0, truncate: 0, hang: 0 } };

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const cut = (req: IncomingMessage) => req.socket.destroy();

  /** Sends the request on to the real server; resolves with its response (body not read yet). */
  const forward = (req: IncomingMessage, body: Buffer): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        resolve,
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const readBody = (stream: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
      stream.on('aborted', () => reject(new Error('aborted')));
    });

  const relay = async (req: IncomingMessage, res: ServerResponse, body: Buffer, truncate: boolean, resetAfter: boolean) => {
    const upstream = await forward(req, body);
    const payload = await readBody(upstream);
    if (resetAfter) {
      cut(req); // applied upstream, answer lost
      return;
    }
    res.writeHead(upstream.statusCode ?? 502, upstream.headers);
    if (truncate && payload.length > 1) {
      // Headers announce the whole body; the connection dies after part of it.
      res.write(payload.subarray(0, prng.int(0, payload.length - 1)), () => later(5, () => cut(req)));
      return;
    }
    res.end(payload);
    stats.passed++;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    const fault = prng.chance(rate) ? prng.pick(kinds) : null;
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (fault === 'truncate' && hasBody) {
      // Read part of the upload, then drop the connection: the server never sees the request.
      stats.faults.truncate++;
      const expected = Number(req.headers['content-length'] ?? 0);
      const keep = expected > 1 ? prng.int(1, expected - 1) : 0;
      let got = 0;
      req.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= keep) cut(req);
      });
      req.on('end', () => cut(req));
      return;
    }
    const body = await readBody(req);
    switch (fault) {
      case 'status-500':
      case 'status-503': {
        stats.faults[fault]++;
        const e = S3_ERRORS[fault];
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${e.message}</Message><RequestId>fault-proxy</RequestId></Error>`;
        res.writeHead(e.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
        return;
      }
      case 'reset':
        stats.faults.reset++;
        if (prng.chance(0.5)) cut(req);
        else await relay(req, res, body, false, true);
        return;
      case 'stall':
        stats.faults.stall++;
        later(stallMs, () => cut(req));
        return;
      case 'truncate':
        stats.faults.truncate++;
        await relay(req, res, body, true, false);
        return;
      case 'hang': {
        stats.faults.hang++;
        if (req.method !== 'GET' || prng.chance(0.5)) return; // never answered, never closed
        // A download that stalls mid-body: headers and part of the body, then silence.
        const upstream = await forward(req, body);
        const payload = await readBody(upstream);
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        res.write(payload.subarray(0, Math.floor(payload.length / 2)));
        return;
      }
      default:
        await relay(req, res, body, false, false);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => cut(req));
  });
  server.on('connection', (socket) => {
    if (down) {
      stats.refused++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    injected: () => Object.values(stats.faults).reduce((a, b) => a + b, 0) + stats.refused,
    setRate(r) {
      rate = r;
    },
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
