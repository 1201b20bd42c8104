import { useMemo, useState } from 'react';
import type { SnapshotDetail, SnapshotSummary } from '../../../agent/contract/api.js';
import { useClient } from '../../app/context.js';
import { href, navigate, type Route } from '../../app/router.js';
import { formatBytes, formatDate, formatDateTime, formatNumber, shortId } from '../../components/format.js';
import { DataTable, type Column } from '../../components/DataTable.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading, PageHeader, validationTone } from '../../components/states.js';
import { useWeddingNames, type WeddingNames } from '../../components/wedding-names.js';
import { WeddingDiff } from './WeddingDiff.js';

const TYPES = ['full', 'incremental', 'emergency', 'recovery-point', 'point-in-time'] as const;
const DATA_TYPES = ['guests', 'timeline', 'vendors', 'photos'] as const;

/** Bars on a time axis, one per snapshot: height by stored size, colour by type. Arrow keys move between them. */
function Timeline({ snapshots, selected }: { snapshots: SnapshotSummary[]; selected: string | undefined }) {
  const sorted = [...snapshots].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const max = Math.max(1, ...sorted.map((s) => s.backupSizeBytes ?? 0));
  return (
    <div>
      <div
        className="timeline"
        role="toolbar"
        aria-label="Snapshot timeline"
        onKeyDown={(e) => {
          if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
          const i = sorted.findIndex((s) => s.id === selected);
          const next = sorted[Math.max(0, Math.min(sorted.length - 1, i + (e.key === 'ArrowRight' ? 1 : -1)))];
          if (next) navigate(href('snapshots', next.id));
        }}
      >
        {sorted.map((s) => (
          <button
            key={s.id}
            type="button"
            className={`tl-${s.snapshotType}`}
            style={{ height: `${Math.max(12, Math.round(((s.backupSizeBytes ?? 0) / max) * 56))}px` }}
            aria-pressed={s.id === selected}
            aria-label={`${s.snapshotType} snapshot ${formatDateTime(s.createdAt)}`}
            title={`${s.snapshotType} · ${formatDateTime(s.createdAt)} · ${formatBytes(s.backupSizeBytes)}`}
            onClick={() => navigate(href('snapshots', s.id))}
          />
        ))}
      </div>
      <div className="legend">
        {TYPES.map((t) => (
          <span key={t} className={`lg-${t}`}>
            {t}
          </span>
        ))}
      </div>
    </div>
  );
}

function SnapshotTable({ snapshots, selected, names }: { snapshots: SnapshotSummary[]; selected: string | undefined; names: WeddingNames }) {
  // With a snapshot open the list narrows to what picks one; the detail shows the rest.
  const wide = !selected;
  const columns: Column<SnapshotSummary>[] = [
    { key: 'created', header: 'Created', cell: (s) => <a href={href('snapshots', s.id)}>{formatDateTime(s.createdAt)}</a> },
    { key: 'type', header: 'Type', cell: (s) => `${s.snapshotType}${s.tier ? ` · tier ${s.tier}` : ''}` },
    ...(wide
      ? ([
          { key: 'weddings', header: 'Weddings', cell: (s) => (s.weddingIds.length === 1 ? names.label(s.weddingIds[0]!) : formatNumber(s.weddingCount)) },
          { key: 'rows', header: 'Rows', numeric: true, cell: (s) => formatNumber(s.rowCount) },
          { key: 'size', header: 'Size', numeric: true, cell: (s) => formatBytes(s.backupSizeBytes) },
          { key: 'ratio', header: 'Ratio', numeric: true, cell: (s) => (s.compressionRatio ? `${s.compressionRatio.toFixed(2)}×` : '—') },
        ] satisfies Column<SnapshotSummary>[])
      : []),
    { key: 'validation', header: 'Validation', cell: (s) => <Badge tone={validationTone(s.validationStatus)}>{s.validationStatus}</Badge> },
  ];
  return (
    <DataTable
      label="Snapshots"
      columns={columns}
      rows={snapshots}
      rowKey={(s) => s.id}
      selected={selected}
      onSelect={(s) => navigate(href('snapshots', s.id))}
      rowProps={(s) => ({ 'data-snapshot-id': s.id })}
    />
  );
}

function Detail({ detail, names, weddingFilter, others }: { detail: SnapshotDetail; names: WeddingNames; weddingFilter: string; others: SnapshotSummary[] }) {
  const s = detail.snapshot;
  const [wedding, setWedding] = useState<string | null>(null);
  const weddings = detail.weddings.filter((w) => !weddingFilter || names.matches(w.weddingId, weddingFilter));
  const open = wedding ? detail.weddings.find((w) => w.weddingId === wedding) : undefined;
  return (
    <div className="panel" aria-label="Snapshot detail">
      <h2>
        Snapshot <span className="mono">{shortId(s.id)}</span> · {s.snapshotType} · {formatDateTime(s.createdAt)}
      </h2>
      <dl className="kv">
        <dt>Validation</dt>
        <dd>
          <Badge tone={validationTone(s.validationStatus)}>{s.validationStatus}</Badge>
          {s.validationCompletedAt ? ` at ${formatDateTime(s.validationCompletedAt)}` : ''} · <a href={href('validation', s.id)}>validate…</a>
        </dd>
        <dt>Scope</dt>
        <dd>
          {detail.scope.kind}
          {detail.scope.dataTypes ? ` (${detail.scope.dataTypes.join(', ')})` : ''}
        </dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(s.backupSizeBytes)} logical · {formatBytes(s.bytesNew)} new · compression {s.compressionRatio ? `${s.compressionRatio.toFixed(2)}×` : '—'}
        </dd>
        <dt>Content</dt>
        <dd>
          {formatNumber(s.weddingCount)} weddings · {formatNumber(s.tableCount)} tables · {formatNumber(s.rowCount)} rows · {formatNumber(s.photoCount)} photos
          {detail.photoProblems.length ? ` · ${detail.photoProblems.length} photo problems` : ''}
        </dd>
        <dt>Integrity hash</dt>
        <dd className="mono">{s.dataIntegrityHash ?? '—'}</dd>
      </dl>
      <h3>Weddings and data types</h3>
      {weddings.length === 0 ? (
        <Empty>{weddingFilter ? 'No wedding of this snapshot matches the filter.' : 'This snapshot holds no wedding data.'}</Empty>
      ) : (
        <div className="scroll">
          <table aria-label="Weddings in snapshot">
            <thead>
              <tr>
                <th>Wedding</th>
                <th>Date</th>
                {DATA_TYPES.map((t) => (
                  <th key={t} className="num">
                    {t}
                  </th>
                ))}
                <th className="num">Segments</th>
                <th className="num">Raw size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {weddings.map((w) => (
                <tr key={w.weddingId} className={w.weddingId === wedding ? 'selected' : undefined} data-wedding-id={w.weddingId}>
                  <td>{names.label(w.weddingId)}</td>
                  <td>{formatDate(w.weddingDate)}</td>
                  {DATA_TYPES.map((t) => (
                    <td key={t} className="num">
                      {w.rowCounts[t] === undefined ? '—' : formatNumber(w.rowCounts[t])}
                      {t === 'photos' && w.photos ? <div className="muted">{formatNumber(w.photos)} files</div> : null}
                    </td>
                  ))}
                  <td className="num">{formatNumber(w.segments)}</td>
                  <td className="num">{formatBytes(w.rawBytes)}</td>
                  <td>
                    <button type="button" onClick={() => setWedding(w.weddingId === wedding ? null : w.weddingId)} aria-expanded={w.weddingId === wedding}>
                      {w.weddingId === wedding ? 'Close' : 'Compare…'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <WeddingDiff snapshot={detail} weddingId={open.weddingId} names={names} others={others.filter((o) => o.id !== s.id)} />}
    </div>
  );
}

/** Snapshots: timeline, filters (wedding, type, validation), per snapshot weddings and data types, and a per-wedding comparison of two snapshots. */
export function Snapshots({ route }: { route: Route }) {
  const client = useClient();
  const names = useWeddingNames();
  const [wedding, setWedding] = useState(route.query.get('wedding') ?? '');
  const [type, setType] = useState('');
  const [tier, setTier] = useState('');
  const [validation, setValidation] = useState('');
  const list = useLoad(() => client.call('listSnapshots', { query: { limit: 500 } }).then((r) => r.snapshots), []);
  const selectedId = route.rest[0];
  const detail = useLoad(() => (selectedId ? client.call('getSnapshot', { params: { id: selectedId } }) : Promise.resolve(null)), [selectedId]);

  const filtered = useMemo(() => {
    if (list.state !== 'ok') return [];
    return list.data.filter(
      (s) =>
        (!type || s.snapshotType === type) &&
        (!tier || String(s.tier ?? '') === tier) &&
        (!validation || s.validationStatus === validation) &&
        (!wedding || s.weddingIds.length === 0 || s.weddingIds.some((id) => names.matches(id, wedding))),
    );
  }, [list, type, tier, validation, wedding, names]);

  return (
    <section>
      <PageHeader title="Snapshots">
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-wedding">Wedding</label>
          <input id="f-wedding" placeholder="couple names, date or id" value={wedding} onChange={(e) => setWedding(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="f-type">Type</label>
          <select id="f-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">all</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-tier">Tier</label>
          <select id="f-tier" value={tier} onChange={(e) => setTier(e.target.value)}>
            <option value="">all</option>
            <option value="1">1 · real-time</option>
            <option value="2">2 · incremental</option>
            <option value="3">3 · full</option>
            <option value="4">4 · off-site</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-validation">Validation</label>
          <select id="f-validation" value={validation} onChange={(e) => setValidation(e.target.value)}>
            <option value="">all</option>
            {['pending', 'valid', 'corrupted', 'incomplete'].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
      </form>
      {list.state === 'loading' && <Loading what="snapshots" />}
      {list.state === 'error' && <ErrorState error={list.error} onRetry={list.reload} what="snapshots" />}
      {list.state === 'ok' &&
        (list.data.length === 0 ? (
          <Empty>No snapshots yet. Run `wedsync-backup backup --type full` or wait for the scheduler.</Empty>
        ) : (
          <div className="grid" style={{ gridTemplateColumns: selectedId ? 'minmax(0, 4fr) minmax(0, 9fr)' : '1fr' }}>
            <div className="panel">
              <Timeline snapshots={filtered} selected={selectedId} />
              {filtered.length === 0 ? <Empty>No snapshot matches these filters.</Empty> : <SnapshotTable snapshots={filtered} selected={selectedId} names={names} />}
            </div>
            {selectedId && (
              <div>
                {detail.state === 'loading' && <Loading what="snapshot" />}
                {detail.state === 'error' && <ErrorState error={detail.error} onRetry={detail.reload} what="snapshot" />}
                {detail.state === 'ok' && detail.data && <Detail detail={detail.data} names={names} weddingFilter={wedding} others={list.data} />}
              </div>
            )}
          </div>
        ))}
    </section>
  );
}
