import { useMemo } from 'react';
import type { OfflineRow, OfflineWedding, StreamStatus } from '../../../agent/contract/offline.js';
import { useClient, useOnline } from '../../app/context.js';
import { href, type Route } from '../../app/router.js';
import { formatDate, formatDateTime, shortId } from '../../components/format.js';
import { useLoad, usePoll } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading, PageHeader } from '../../components/states.js';
import { runSheetCsv } from './run-sheet.js';

function time(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(v.includes('T') || v.includes(' ') ? v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00') : v);
  return Number.isNaN(d.getTime()) ? v : d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
}

function streamTone(s: StreamStatus): 'ok' | 'warn' | 'bad' | 'muted' {
  return s.mode === 'logical' || s.mode === 'polling' ? 'ok' : s.mode === 'offline' ? 'bad' : 'muted';
}

function name(r: OfflineRow): string {
  return [r.first_name, r.last_name].filter(Boolean).join(' ') || r.name || r.id || '—';
}

function download(filename: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function RunSheet({ w }: { w: OfflineWedding }) {
  const couple = w.wedding.couple_names ?? shortId(w.weddingId);
  const accepted = w.guests.filter((g) => g.rsvp_status === 'accepted').length;
  const dietary = w.guests.filter((g) => g.dietary_requirements);
  const base = `run-sheet-${(w.wedding.wedding_date ?? 'wedding').slice(0, 10)}-${w.weddingId.slice(0, 8)}`;
  return (
    <div className="panel" aria-label="Run sheet">
      <div className="page-header">
        <h2>
          {couple} · {formatDate(w.wedding.wedding_date)} {w.wedding.venue_name ? `· ${w.wedding.venue_name}` : ''}
        </h2>
        <div className="page-actions no-print">
          <button type="button" onClick={() => download(`${base}.csv`, 'text/csv', runSheetCsv(w))}>
            Export CSV
          </button>
          <button type="button" onClick={() => download(`${base}.json`, 'application/json', JSON.stringify(w, null, 2))}>
            Export JSON
          </button>
          <button type="button" onClick={() => window.print()}>
            Print run sheet
          </button>
        </div>
      </div>
      <p className="muted">
        From the local copy: {w.cache.state} · base snapshot {w.cache.baseAt ? formatDateTime(w.cache.baseAt) : '—'} · last change {w.cache.lastChangeAt ? formatDateTime(w.cache.lastChangeAt) : 'none'}
      </p>
      <div className="grid grid-2">
        <div>
          <h3>Timeline ({w.timeline.length})</h3>
          {w.timeline.length === 0 ? (
            <Empty>No timeline events.</Empty>
          ) : (
            <table aria-label="Timeline">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Event</th>
                  <th>Where</th>
                </tr>
              </thead>
              <tbody>
                {w.timeline.map((e, i) => (
                  <tr key={e.id ?? i}>
                    <td>
                      {time(e.starts_at)}–{time(e.ends_at)}
                    </td>
                    <td>
                      {e.title}
                      {e.vendor_id ? <div className="muted">{w.vendors.find((v) => v.id === e.vendor_id)?.name ?? ''}</div> : null}
                    </td>
                    <td>{e.location ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Vendor contacts ({w.vendors.length})</h3>
          {w.vendors.length === 0 ? (
            <Empty>No vendors.</Empty>
          ) : (
            <table aria-label="Vendors">
              <thead>
                <tr>
                  <th>Vendor</th>
                  <th>Contact</th>
                  <th>Phone</th>
                  <th>Email</th>
                </tr>
              </thead>
              <tbody>
                {w.vendors.map((v, i) => (
                  <tr key={v.id ?? i}>
                    <td>
                      {v.name}
                      <div className="muted">{v.category}</div>
                    </td>
                    <td>{v.contact_name ?? '—'}</td>
                    <td>{v.phone ?? '—'}</td>
                    <td>{v.email ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h3>
            Guests ({w.guests.length}, {accepted} accepted, {dietary.length} with dietary needs)
          </h3>
          {w.guests.length === 0 ? (
            <Empty>No guests in the local copy.</Empty>
          ) : (
            <table aria-label="Guests">
              <thead>
                <tr>
                  <th>Guest</th>
                  <th>RSVP</th>
                  <th>Dietary needs</th>
                  <th className="num">Table</th>
                </tr>
              </thead>
              <tbody>
                {w.guests.map((g, i) => (
                  <tr key={g.id ?? i}>
                    <td>
                      {name(g)}
                      {g.plus_one === 't' ? <span className="muted"> +1</span> : null}
                    </td>
                    <td>
                      <Badge tone={g.rsvp_status === 'accepted' ? 'ok' : g.rsvp_status === 'declined' ? 'bad' : 'muted'}>{g.rsvp_status ?? '—'}</Badge>
                    </td>
                    <td>{g.dietary_requirements ?? ''}</td>
                    <td className="num">{g.table_number ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </div>
  );
}

/**
 * Wedding day: today's weddings from the agent's local cache (tier 1), readable with the
 * database and the network gone: guests with RSVP and dietary needs, timeline, vendor contacts;
 * export (CSV, JSON) and print of the run sheet; a clear banner when offline.
 */
export function WeddingDay({ route }: { route: Route }) {
  const client = useClient();
  const { online } = useOnline();
  const today = useLoad(() => client.call('weddingsToday', {}), []);
  // The stream's state changes on its own (database gone, back): keep the banner current.
  usePoll(
    async () => {
      today.reload();
      return true;
    },
    today.state === 'ok',
    15_000,
  );
  const weddings = useMemo(() => (today.state === 'ok' ? today.data.weddings : []), [today]);
  const selected = route.rest[0] ?? weddings[0]?.weddingId;
  const wedding = useLoad(() => (selected ? client.call('offlineWedding', { params: { id: selected } }) : Promise.resolve(null)), [selected]);
  const stream = today.state === 'ok' ? today.data.stream : null;
  const offline = !online || stream?.mode === 'offline';
  return (
    <section>
      <PageHeader title="Wedding day">
        {today.state === 'ok' && <span className="muted">{formatDate(today.data.date)}</span>}
      </PageHeader>
      {offline && (
        <div className="banner banner-offline" role="alert" aria-label="Offline">
          <strong>Offline — showing the local copy.</strong> The database cannot be reached{stream?.caughtUpAt ? `; the copy was last in step at ${formatDateTime(stream.caughtUpAt)}` : ''}. Changes made elsewhere since then are
          not shown. Everything here still works: read, export, print.
        </div>
      )}
      {stream && !offline && (
        <p className="muted">
          Local copy: <Badge tone={streamTone(stream)}>{stream.mode}</Badge> {stream.detail}
          {stream.lastCommitAt ? ` · last change ${formatDateTime(stream.lastCommitAt)}` : ''}
        </p>
      )}
      {stream?.alerts.map((a) => (
        <div key={a} className="banner banner-offline" role="alert">
          {a}
        </div>
      ))}
      {today.state === 'loading' && <Loading what="today's weddings" />}
      {today.state === 'error' && <ErrorState error={today.error} onRetry={today.reload} what="today's weddings" />}
      {today.state === 'ok' && weddings.length === 0 && <Empty>No wedding today in the local copy.</Empty>}
      {weddings.length > 0 && (
        <>
          <nav aria-label="Today's weddings" className="filters no-print">
            {weddings.map((w) => (
              <a key={w.weddingId} className="button" href={href('wedding-day', w.weddingId)} aria-current={w.weddingId === selected ? 'true' : undefined}>
                {w.coupleNames ?? shortId(w.weddingId)} <Badge tone={w.state === 'ready' ? 'ok' : 'muted'}>{w.state}</Badge> <span className="muted">{w.counts.guests} guests</span>
              </a>
            ))}
          </nav>
          {wedding.state === 'loading' && <Loading what="the run sheet" />}
          {wedding.state === 'error' && <ErrorState error={wedding.error} onRetry={wedding.reload} what="the run sheet" />}
          {wedding.state === 'ok' && wedding.data && <RunSheet w={wedding.data} />}
        </>
      )}
    </section>
  );
}
