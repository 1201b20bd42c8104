import { isoMicros } from '../contract/offline.js';

/**
 * A decoder for PostgreSQL's pgoutput logical replication messages (protocol version 1) that
 * keeps every value as the server's TEXT OUTPUT, untouched. (pg-logical-replication's own
 * parser converts values with the pg type parsers: timestamps lose their microseconds, jsonb is
 * re-serialised, and an unchanged TOAST value becomes indistinguishable from "no column". A
 * restore must write rows back byte for byte, so we decode ourselves.)
 *
 * Message formats: https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
 */

/** An LSN as a number (64 bits fit in a bigint). */
export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** µs between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export interface RelationInfo {
  oid: number;
  /** schema.table */
  table: string;
  columns: Array<{ name: string; isKey: boolean; typeOid: number }>;
  replicaIdentity: string;
}

/** A row image: column → text or null; columns the message did not carry are listed in `unchanged`. */
export interface TupleImage {
  values: Record<string, string | null>;
  unchanged: string[];
}

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: Lsn; commitTime: string; xid: number }
  | { tag: 'commit'; commitLsn: Lsn; endLsn: Lsn; commitTime: string }
  | { tag: 'relation'; relation: RelationInfo }
  | { tag: 'insert'; relation: RelationInfo; new: TupleImage }
  | { tag: 'update'; relation: RelationInfo; old: TupleImage | null; new: TupleImage }
  | { tag: 'delete'; relation: RelationInfo; old: TupleImage }
  | { tag: 'truncate'; relations: RelationInfo[] }
  | { tag: 'other'; type: string };

class Reader {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number {
    return this.b.readUInt8(this.p++);
  }
  i16(): number {
    const v = this.b.readInt16BE(this.p);
    this.p += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  u64(): bigint {
    const v = this.b.readBigUInt64BE(this.p);
    this.p += 8;
    return v;
  }
  i64(): bigint {
    const v = this.b.readBigInt64BE(this.p);
    this.p += 8;
    return v;
  }
  str(): string {
    const end = this.b.indexOf(0, this.p);
    if (end < 0) throw new Error('pgoutput: unterminated string');
    const s = this.b.toString('utf8', this.p, end);
    this.p = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const v = this.b.subarray(this.p, this.p + n);
    if (v.length !== n) throw new Error('pgoutput: message too short');
    this.p += n;
    return v;
  }
}

const time = (r: Reader) => isoMicros(r.i64() + PG_EPOCH_MICROS);

/** Decodes one connection's messages; keeps the relation map the server sends before first use. */
export class PgoutputDecoder {
  private readonly relations = new Map<number, RelationInfo>();

  decode(buf: Buffer): PgoutputMessage {
    const r = new Reader(buf);
    const tag = String.fromCharCode(r.u8());
    switch (tag) {
      case 'B': {
        const finalLsn = r.u64();
        const commitTime = time(r);
        return { tag: 'begin', finalLsn, commitTime, xid: r.u32() };
      }
      case 'C': {
        r.u8();
        const commitLsn = r.u64();
        const endLsn = r.u64();
        return { tag: 'commit', commitLsn, endLsn, commitTime: time(r) };
      }
      case 'R': {
        const oid = r.u32();
        const schema = r.str();
        const name = r.str();
        const replicaIdentity = String.fromCharCode(r.u8());
        const n = r.i16();
        const columns: RelationInfo['columns'] = [];
        for (let i = 0; i < n; i++) {
          const flags = r.u8();
          const colName = r.str();
          const typeOid = r.u32();
          r.i32(); // typmod
          columns.push({ name: colName, isKey: (flags & 1) === 1, typeOid });
        }
        const relation = { oid, table: `${schema}.${name}`, columns, replicaIdentity };
        this.relations.set(oid, relation);
        return { tag: 'relation', relation };
      }
      case 'I': {
        const relation = this.relation(r.u32());
        r.u8(); // 'N'
        return { tag: 'insert', relation, new: this.tuple(r, relation) };
      }
      case 'U': {
        const relation = this.relation(r.u32());
        let kind = String.fromCharCode(r.u8());
        let old: TupleImage | null = null;
        if (kind === 'K' || kind === 'O') {
          old = this.tuple(r, relation);
          kind = String.fromCharCode(r.u8());
        }
        if (kind !== 'N') throw new Error(`pgoutput: unexpected update part ${kind}`);
        return { tag: 'update', relation, old, new: this.tuple(r, relation) };
      }
      case 'D': {
        const relation = this.relation(r.u32());
        r.u8(); // 'K' or 'O'
        return { tag: 'delete', relation, old: this.tuple(r, relation) };
      }
      case 'T': {
        const n = r.i32();
        r.u8(); // options
        const relations: RelationInfo[] = [];
        for (let i = 0; i < n; i++) relations.push(this.relation(r.u32()));
        return { tag: 'truncate', relations };
      }
      default:
        // Origin, Type, logical Message: nothing the cache needs.
        return { tag: 'other', type: tag };
    }
  }

  private relation(oid: number): RelationInfo {
    const rel = this.relations.get(oid);
    if (!rel) throw new Error(`pgoutput: change for relation ${oid} before its Relation message`);
    return rel;
  }

  private tuple(r: Reader, relation: RelationInfo): TupleImage {
    const n = r.i16();
    const values: Record<string, string | null> = {};
    const unchanged: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = relation.columns[i]?.name ?? `column${i + 1}`;
      const kind = String.fromCharCode(r.u8());
      if (kind === 'n') values[name] = null;
      else if (kind === 'u') unchanged.push(name);
      else if (kind === 't' || kind === 'b') {
        const len = r.i32();
        const bytes = r.bytes(len);
        // 'b' (binary) only comes when asked for with the binary option, which we never set.
        values[name] = kind === 't' ? bytes.toString('utf8') : bytes.toString('hex');
      } else throw new Error(`pgoutput: unknown column kind ${kind}`);
    }
    return { values, unchanged };
  }
}
