import type pg from 'pg';
import type { SchemaMap } from '../contract/schema-map.js';
import { connect, databaseError, mapDatabaseErrors } from './db.js';
import { pollJournal, type PollResult, type PollTable } from './stream-poll.js';
import { startReplication, type ReplicationOptions, type ReplicationStream } from './stream-replication.js';
import { PUBLICATION, dropSlot, ensurePublication, ensureSlot, slotInfo, walLevel, type SlotInfo } from './stream-slot.js';
import { streamCandidates, type StreamWeddingCandidate } from './stream-weddings.js';

export type { PollResult, PollTable, PolledRows } from './stream-poll.js';
export type { ReplicationStream, StreamChange, StreamRowChange, StreamTransaction } from './stream-replication.js';
export type { SlotInfo } from './stream-slot.js';
export type { StreamWeddingCandidate } from './stream-weddings.js';
export { PUBLICATION, slotNameFor } from './stream-slot.js';

/**
 * Everything tier 1 needs from the wedding database, behind one object so jobs/stream.ts never
 * sees the driver: one ordinary connection for administration and polling, plus the replication
 * connection `replicate` opens. Every method maps driver errors to typed ones (DB_UNREACHABLE…).
 */
export interface StreamSource {
  readonly databaseName: string;
  walLevel(): Promise<string>;
  ensurePublication(tables: string[]): Promise<void>;
  ensureSlot(slot: string): Promise<boolean>;
  dropSlot(slot: string): Promise<boolean>;
  slotInfo(slot: string): Promise<SlotInfo | null>;
  candidates(fromDate: string, toDate: string): Promise<StreamWeddingCandidate[]>;
  replicate(options: Omit<ReplicationOptions, 'url' | 'publication'>): Promise<ReplicationStream>;
  poll(previous: string | null, tables: PollTable[], weddingIds: string[], reread?: string[]): Promise<PollResult>;
  close(): Promise<void>;
}

export async function openStreamSource(url: string, map: SchemaMap): Promise<StreamSource> {
  const client: pg.Client = await connect(url, { applicationName: 'wedsync-backup tier1', connectTimeoutMs: 5_000 });
  const wrap = mapDatabaseErrors(url);
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db').catch((err: unknown) => {
    void client.end().catch(() => undefined);
    throw databaseError(err, url);
  });
  return {
    databaseName: rows[0]!.db,
    walLevel: wrap(() => walLevel(client)),
    ensurePublication: wrap((tables: string[]) => ensurePublication(client, tables)),
    ensureSlot: wrap((slot: string) => ensureSlot(client, slot)),
    dropSlot: wrap((slot: string) => dropSlot(client, slot)),
    slotInfo: wrap((slot: string) => slotInfo(client, slot)),
    candidates: wrap((from: string, to: string) => streamCandidates(client, map, from, to)),
    replicate: wrap((options: Omit<ReplicationOptions, 'url' | 'publication'>) => startReplication({ ...options, url, publication: PUBLICATION })),
    poll: wrap((previous: string | null, tables: PollTable[], weddingIds: string[], reread?: string[]) => pollJournal(client, previous, tables, weddingIds, reread)),
    close: () => client.end().catch(() => undefined),
  };
}
