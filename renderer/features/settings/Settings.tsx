import { useEffect, useState } from 'react';
import { DEFAULT_WEDDING_BACKUP_SETTINGS, RETENTION_POLICIES, weddingBackupSettingsPatchSchema, type WeddingBackupSettings, type WeddingBackupSettingsPatch } from '../../../agent/contract/scheduling.js';
import { AgentError } from '../../api/client.js';
import { useClient } from '../../app/context.js';
import { href, navigate, type Route } from '../../app/router.js';
import { shortId } from '../../components/format.js';
import { useLoad } from '../../components/hooks.js';
import { Badge, Empty, ErrorState, Loading, PageHeader } from '../../components/states.js';
import { useWeddingNames } from '../../components/wedding-names.js';
import { AgentSetup } from './AgentSetup.js';

/** The form's values: text as typed, so a bad value can be shown and named rather than lost. */
interface FormValues {
  backupFrequencyMinutes: string;
  retentionPolicy: string;
  highPriorityStart: string;
  highPriorityEnd: string;
  offsiteBackupRequired: boolean;
  realtimeEnabled: boolean;
  onFailure: boolean;
  onSuccess: boolean;
  webhookUrl: string;
}

const LABELS: Record<string, string> = {
  backupFrequencyMinutes: 'Backup frequency (minutes)',
  retentionPolicy: 'Retention policy',
  highPriorityStart: 'High-priority period start',
  highPriorityEnd: 'High-priority period end',
  offsiteBackupRequired: 'Off-site copy required',
  realtimeEnabled: 'Real-time stream (tier 1)',
  'notificationPreferences.onFailure': 'Notify on failure',
  'notificationPreferences.onSuccess': 'Notify on success',
  'notificationPreferences.webhookUrl': 'Webhook URL',
};

function toForm(s: WeddingBackupSettings): FormValues {
  return {
    backupFrequencyMinutes: String(s.backupFrequencyMinutes),
    retentionPolicy: s.retentionPolicy,
    highPriorityStart: s.highPriorityStart ?? '',
    highPriorityEnd: s.highPriorityEnd ?? '',
    offsiteBackupRequired: s.offsiteBackupRequired,
    realtimeEnabled: s.realtimeEnabled,
    onFailure: s.notificationPreferences.onFailure,
    onSuccess: s.notificationPreferences.onSuccess,
    webhookUrl: s.notificationPreferences.webhookUrl ?? '',
  };
}

/** The PUT body the form stands for (before validation: numbers stay numbers only if they are). */
export function toPatch(v: FormValues): Record<string, unknown> {
  const n = v.backupFrequencyMinutes.trim();
  return {
    backupFrequencyMinutes: n === '' ? undefined : /^-?\d+(\.\d+)?$/.test(n) ? Number(n) : n,
    retentionPolicy: v.retentionPolicy,
    highPriorityStart: v.highPriorityStart.trim() || null,
    highPriorityEnd: v.highPriorityEnd.trim() || null,
    offsiteBackupRequired: v.offsiteBackupRequired,
    realtimeEnabled: v.realtimeEnabled,
    notificationPreferences: { onFailure: v.onFailure, onSuccess: v.onSuccess, ...(v.webhookUrl.trim() ? { webhookUrl: v.webhookUrl.trim() } : {}) },
  };
}

/**
 * Checks the form with the API's own schema (weddingBackupSettingsPatchSchema from
 * agent/contract): the same rules, the same messages, keyed by field.
 */
export function validateSettings(v: FormValues): { patch: WeddingBackupSettingsPatch | null; errors: Record<string, string> } {
  const r = weddingBackupSettingsPatchSchema.safeParse(toPatch(v));
  if (r.success) return { patch: r.data, errors: {} };
  const errors: Record<string, string> = {};
  for (const i of r.error.issues) {
    const key = i.path.map(String).join('.') || 'form';
    errors[key] ??= i.message;
  }
  return { patch: null, errors };
}

function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string; hint?: string; children: React.ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && !error && <div className="field-hint">{hint}</div>}
      {error && (
        <div className="field-error" id={`${id}-error`} role="alert">
          {label}: {error}
        </div>
      )}
    </div>
  );
}

function SettingsForm({ weddingId, initial, stored }: { weddingId: string; initial: WeddingBackupSettings; stored: boolean }) {
  const client = useClient();
  const [v, setV] = useState<FormValues>(() => toForm(initial));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const set = <K extends keyof FormValues>(k: K, val: FormValues[K]) => {
    setV((cur) => ({ ...cur, [k]: val }));
    setSaved(null);
  };
  const err = (k: string) => errors[k];
  const inv = (k: string) => (errors[k] ? { 'aria-invalid': true as const, 'aria-describedby': `${k.replace(/\./g, '-')}-error` } : {});

  const save = async () => {
    setFailure(null);
    const { patch, errors: found } = validateSettings(v);
    setErrors(found);
    if (!patch) return;
    setSaving(true);
    try {
      const r = await client.call('putWeddingSettings', { params: { weddingId }, body: patch });
      setV(toForm(r.settings));
      setSaved('Saved.');
    } catch (e) {
      // The agent names fields as body.<field>: show them on the same inputs.
      if (e instanceof AgentError && e.fields.length) {
        const byField: Record<string, string> = {};
        for (const f of e.fields) byField[f.field.replace(/^body\./, '')] ??= f.message;
        setErrors(byField);
      }
      setFailure(e as Error);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      className="panel"
      aria-label="Backup settings"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h2>
        Backup settings {stored ? <Badge tone="info">custom</Badge> : <Badge tone="muted">defaults</Badge>}
      </h2>
      <div className="grid grid-2">
        <div>
          <Field id="backupFrequencyMinutes" label={LABELS.backupFrequencyMinutes!} error={err('backupFrequencyMinutes')} hint="Tier 2 interval while the wedding is active: 15 to 1440.">
            <input id="backupFrequencyMinutes" inputMode="numeric" value={v.backupFrequencyMinutes} onChange={(e) => set('backupFrequencyMinutes', e.target.value)} {...inv('backupFrequencyMinutes')} />
          </Field>
          <Field id="retentionPolicy" label={LABELS.retentionPolicy!} error={err('retentionPolicy')}>
            <select id="retentionPolicy" value={v.retentionPolicy} onChange={(e) => set('retentionPolicy', e.target.value)} {...inv('retentionPolicy')}>
              {RETENTION_POLICIES.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </Field>
          <Field id="highPriorityStart" label={LABELS.highPriorityStart!} error={err('highPriorityStart')} hint="ISO date-time with zone, e.g. 2026-06-01T00:00:00Z; empty: 7 days before the wedding.">
            <input id="highPriorityStart" value={v.highPriorityStart} onChange={(e) => set('highPriorityStart', e.target.value)} {...inv('highPriorityStart')} style={{ width: 260 }} />
          </Field>
          <Field id="highPriorityEnd" label={LABELS.highPriorityEnd!} error={err('highPriorityEnd')} hint="Empty: 1 day after the wedding.">
            <input id="highPriorityEnd" value={v.highPriorityEnd} onChange={(e) => set('highPriorityEnd', e.target.value)} {...inv('highPriorityEnd')} style={{ width: 260 }} />
          </Field>
        </div>
        <div>
          <div className="field">
            <label className="checkbox">
              <input type="checkbox" checked={v.offsiteBackupRequired} onChange={(e) => set('offsiteBackupRequired', e.target.checked)} /> {LABELS.offsiteBackupRequired}
            </label>
            <label className="checkbox">
              <input type="checkbox" checked={v.realtimeEnabled} onChange={(e) => set('realtimeEnabled', e.target.checked)} /> {LABELS.realtimeEnabled}
            </label>
            <label className="checkbox">
              <input type="checkbox" checked={v.onFailure} onChange={(e) => set('onFailure', e.target.checked)} /> {LABELS['notificationPreferences.onFailure']}
            </label>
            <label className="checkbox">
              <input type="checkbox" checked={v.onSuccess} onChange={(e) => set('onSuccess', e.target.checked)} /> {LABELS['notificationPreferences.onSuccess']}
            </label>
          </div>
          <Field id="notificationPreferences-webhookUrl" label={LABELS['notificationPreferences.webhookUrl']!} error={err('notificationPreferences.webhookUrl')} hint="Optional: http:// or https:// only.">
            <input id="notificationPreferences-webhookUrl" value={v.webhookUrl} onChange={(e) => set('webhookUrl', e.target.value)} {...inv('notificationPreferences.webhookUrl')} style={{ width: 320 }} />
          </Field>
        </div>
      </div>
      {Object.keys(errors).filter((k) => !(k in LABELS)).map((k) => (
        <div key={k} className="field-error" role="alert">
          {k}: {errors[k]}
        </div>
      ))}
      {failure && !(failure instanceof AgentError && failure.fields.length) && <ErrorState error={failure} what="the settings" />}
      <div className="wizard-actions">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save settings'}
        </button>
        <span role="status" className="muted">
          {saved ?? (Object.keys(errors).length ? `Not saved: ${Object.keys(errors).length} field(s) need attention.` : '')}
        </span>
      </div>
      <p className="muted">Wedding {shortId(weddingId)} · checked with the same rules as the agent's API before sending.</p>
    </form>
  );
}

/** Settings: per-wedding backup settings, validated with the API's own zod schema before sending. */
export function Settings({ route }: { route: Route }) {
  const client = useClient();
  const names = useWeddingNames();
  const weddingId = route.rest[0];
  const weddings = useLoad(() => client.call('listWeddings', { query: { limit: 500 } }).then((r) => r.weddings), []);
  const settings = useLoad(() => (weddingId ? client.call('getWeddingSettings', { params: { weddingId } }) : Promise.resolve(null)), [weddingId]);
  useEffect(() => {
    if (!weddingId && weddings.state === 'ok' && weddings.data[0]) navigate(href('settings', weddings.data[0].id));
  }, [weddingId, weddings]);
  return (
    <section>
      <PageHeader title="Settings" />
      <div className="filters">
        <div className="field">
          <label htmlFor="s-wedding">Wedding</label>
          {weddings.state === 'ok' ? (
            <select id="s-wedding" value={weddingId ?? ''} onChange={(e) => navigate(href('settings', e.target.value))}>
              {weddings.data.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.coupleNames ?? shortId(w.id)} · {w.weddingDate}
                </option>
              ))}
            </select>
          ) : weddings.state === 'loading' ? (
            <Loading what="weddings" />
          ) : (
            <ErrorState error={weddings.error} onRetry={weddings.reload} what="weddings" />
          )}
        </div>
      </div>
      {!weddingId && weddings.state === 'ok' && weddings.data.length === 0 && <Empty>No weddings in the database.</Empty>}
      {weddingId && settings.state === 'loading' && <Loading what="settings" />}
      {weddingId && settings.state === 'error' && !(settings.error instanceof AgentError && settings.error.notOffered) && <ErrorState error={settings.error} onRetry={settings.reload} what="backup settings" />}
      {weddingId && settings.state === 'error' && settings.error instanceof AgentError && settings.error.notOffered && (
        <>
          <div className="banner banner-info" role="status">
            This agent does not offer per-wedding settings over its API yet: the form shows the defaults and checks your input, but cannot save.
          </div>
          <SettingsForm key={weddingId} weddingId={weddingId} initial={DEFAULT_WEDDING_BACKUP_SETTINGS} stored={false} />
        </>
      )}
      {weddingId && settings.state === 'ok' && settings.data && <SettingsForm key={weddingId} weddingId={weddingId} initial={settings.data.settings} stored={settings.data.stored} />}
      <AgentSetup names={names} />
    </section>
  );
}
