import type { WeddingListItem } from '../../agent/contract/console.js';
import { shortId } from './format.js';
import type { Loadable } from './hooks.js';

/** A labelled wedding choice ("couple · date"), empty until the user picks one. */
export function WeddingPicker(props: { id: string; weddings: Loadable<WeddingListItem[]>; value: string; onChange: (weddingId: string) => void }) {
  const { id, weddings, value, onChange } = props;
  return (
    <div className="field">
      <label htmlFor={id}>Wedding</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">choose…</option>
        {weddings.state === 'ok' &&
          weddings.data.map((w) => (
            <option key={w.id} value={w.id}>
              {w.coupleNames ?? shortId(w.id)} · {w.weddingDate}
            </option>
          ))}
      </select>
    </div>
  );
}
