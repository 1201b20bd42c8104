import { LogicalReplicationService } from 'pg-logical-replication';
import type pg from 'pg';
import { databaseError } from './db.js';
import { PgoutputDecoder, formatLsn, parseLsn, type PgoutputMessage, type RelationInfo, type TupleImage } from './stream-pgoutput.js';

/**
 * The tier 1 change stream: logical replication from this agent's slot, decoded (pgoutput,
 * protocol 1) into whole committed transactions, handed over one at a time, in commit order.
 *
 * Guarantees:
 *  - `onTransaction` is called once per transaction, in commit order, never concurrently; the
 *    next one waits until it resolves (backpressure: nothing piles up in memory).
 *  - The slot is advanced (standby status "flushed" position) to a transaction's end only AFTER
 *    `onTransaction` resolved, i.e. after the caller committed it durably. A crash before that
 *    replays the transaction on the next start; the caller's own stored position makes the
 *    replay a no-op, so every change is applied exactly once.
 *  - When idle (every received transaction applied), server keepalives advance the slot to the
 *    server's WAL position, so a quiet stream does not make the server keep WAL.
 *  - An error (connection lost, server restarted, a failing `onTransaction`) ends the stream:
 *    `done` rejects with a typed error and nothing after the failed transaction is acknowledged.
 *
 * Transport: pg-logical-replication's LogicalReplicationService (replication connection,
 * START_REPLICATION, standby status updates), with our own raw-text decoder as its plugin.
 */
export interface StreamRowChange {
  op: 'I' | 'U' | 'D';
  /** schema.table */
  table: string;
  /** Row after the change (I, U). */
  new: TupleImage | null;
  /** Key (or whole old row, with REPLICA IDENTITY FULL) before the change (D; U when the key changed). */
  old: TupleImage | null;
  /** The replica identity columns (the primary key by default), in column order. */
  keyColumns: string[];
}

export type StreamChange = StreamRowChange | { op: 'T'; tables: string[] };

export interface StreamTransaction {
  /** 32-bit transaction id, decimal text. */
  xid: string;
  /** LSN of the commit record, "X/Y". */
  commitLsn: string;
  /** LSN just past the commit record: the stream position once this transaction is applied. */
  endLsn: string;
  /** Commit time, ISO with microseconds. */
  commitTime: string;
  changes: StreamChange[];
}

export interface ReplicationOptions {
  url: string;
  slot: string;
  publication: string;
  /** Resume after this position ("X/Y"; "0/0": wherever the slot is). */
  startLsn: string;
  onTransaction(tx: StreamTransaction): Promise<void>;
  /** Every received transaction is applied and the server has nothing newer (keepalive). */
  onCaughtUp?(serverLsn: string): void;
}

export interface ReplicationStream {
  /** Resolves when stopped, rejects (typed) when the stream fails. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Fits the library's plugin shape (its AbstractPlugin is not exported): our decoder, raw text. */
class RawPgoutputPlugin {
  readonly decoder = new PgoutputDecoder();
  received = 0;

  constructor(readonly options: { publication: string }) {}

  get name(): string {
    return 'pgoutput';
  }

  start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown> {
    const pub = this.options.publication.replace(/'/g, "''");
    return client.query(`START_REPLICATION SLOT "${slotName.replace(/"/g, '')}" LOGICAL ${lastLsn} (proto_version '1', publication_names '${pub}')`);
  }

  parse(buffer: Buffer): PgoutputMessage {
    // Runs as each message arrives (before the queued handler sees it): counts what is in flight.
    this.received++;
    return this.decoder.decode(buffer);
  }
}

const keysOf = (r: RelationInfo) => r.columns.filter((c) => c.isKey).map((c) => c.name);

export async function startReplication(options: ReplicationOptions): Promise<ReplicationStream> {
  const plugin = new RawPgoutputPlugin({ publication: options.publication });
  // No automatic acknowledgement and no timer: the library would report the last RECEIVED
  // position, not the last one we committed.
  const service = new LogicalReplicationService({ connectionString: options.url, application_name: 'wedsync-backup tier1 stream' }, { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } });

  let processed = 0;
  let open: StreamTransaction | null = null;
  let acked = parseLsn(options.startLsn === '' ? '0/0' : options.startLsn);
  let failed = false;
  let stopping = false;
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);

  // acknowledge() reports lsn + 1 as the flushed position; we want exactly `lsn`.
  const ack = async (lsn: bigint) => {
    if (lsn > acked) acked = lsn;
    if (acked > 0n) await service.acknowledge(formatLsn(acked - 1n)).catch(() => undefined);
  };

  const fail = (err: unknown) => {
    if (failed || stopping) return;
    failed = true;
    settle.reject(databaseError(err, options.url));
    void service.stop().catch(() => undefined);
  };

  service.on('error', (err: Error) => fail(err));
  service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
    if (failed) return;
    const idle = open === null && processed === plugin.received;
    if (idle) {
      void ack(parseLsn(lsn));
      options.onCaughtUp?.(lsn);
    } else if (shouldRespond) {
      void ack(acked);
    }
  });
  service.on('data', async (_lsn: string, msg: PgoutputMessage) => {
    try {
      if (failed) return;
      switch (msg.tag) {
        case 'begin':
          open = { xid: String(msg.xid), commitLsn: formatLsn(msg.finalLsn), endLsn: '', commitTime: msg.commitTime, changes: [] };
          break;
        case 'insert':
          open?.changes.push({ op: 'I', table: msg.relation.table, new: msg.new, old: null, keyColumns: keysOf(msg.relation) });
          break;
        case 'update':
          open?.changes.push({ op: 'U', table: msg.relation.table, new: msg.new, old: msg.old, keyColumns: keysOf(msg.relation) });
          break;
        case 'delete':
          open?.changes.push({ op: 'D', table: msg.relation.table, new: null, old: msg.old, keyColumns: keysOf(msg.relation) });
          break;
        case 'truncate':
          open?.changes.push({ op: 'T', tables: msg.relations.map((r) => r.table) });
          break;
        case 'commit': {
          const tx = open;
          open = null;
          if (!tx) break;
          tx.endLsn = formatLsn(msg.endLsn);
          tx.commitTime = msg.commitTime;
          await options.onTransaction(tx);
          await ack(msg.endLsn);
          break;
        }
        default:
          break;
      }
    } catch (err) {
      fail(err);
    } finally {
      processed++;
    }
  });

  const start = options.startLsn && options.startLsn !== '0/0' ? options.startLsn : '0/00000000';
  service.subscribe(plugin as unknown as Parameters<LogicalReplicationService['subscribe']>[0], options.slot, start).then(
    () => {
      if (!failed) settle.resolve();
    },
    (err: unknown) => {
      if (stopping) settle.resolve();
      else fail(err);
    },
  );

  return {
    done,
    async stop() {
      stopping = true;
      await service.stop().catch(() => undefined);
      settle.resolve();
    },
  };
}
