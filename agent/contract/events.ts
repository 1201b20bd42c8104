import { z } from 'zod';
import { uuidSchema } from './api.js';
import { BackupRunSchema } from './backup-run.js';
import { RecoveryOperationSchema } from './restore.js';
import { SnapshotValidationResponseSchema } from './validation-report.js';

/**
 * Server-sent events: progress of long work pushed by the agent (restores, undos, validations)
 * instead of polled. One stream per thing being watched:
 *
 *   GET /api/events/recovery-operations/:id   events `recovery-operation` (the operation, with progress)
 *   GET /api/events/validations/:id           events `validation` (the snapshot's validation state and run)
 *   GET /api/events/backups/:id               events `backup` (an emergency backup run, with progress, then its result)
 *
 * Each SSE message is `event: <type>` + `data: <JSON>` (one line) of the schemas below; the
 * stream sends the current state at once, then every change, and ends with an `end` event when
 * the work is over (or at once when nothing runs). A comment line (`: ping`) every 15 s keeps
 * proxies from closing it.
 *
 * Authentication: browsers' EventSource cannot send an Authorization header, so a client first
 * asks for a ticket with its bearer token (`POST /api/events/tickets`) and opens the stream with
 * `?ticket=…`. A ticket is random (256 bits), bound to one stream path and to the principal
 * that asked, valid 30 s and single use: a URL that ends up in a log or a history is worthless
 * by then. The long-lived token never goes in a URL. Clients that can send headers (Electron's
 * main process, the CLI) may open a stream with `Authorization: Bearer …` instead.
 */
export const EventStreamKindSchema = z.enum(['recovery-operation', 'validation', 'backup']);
export type EventStreamKind = z.infer<typeof EventStreamKindSchema>;

/** `POST /api/events/tickets`: which stream the ticket opens (a recovery operation, or a snapshot's validation). */
export const EventTicketRequestSchema = z.object({ stream: EventStreamKindSchema, id: uuidSchema }).strict();
export type EventTicketRequest = z.infer<typeof EventTicketRequestSchema>;

export const EventTicketResponseSchema = z.object({
  ticket: z.string(),
  /** The stream path the ticket opens (open `${path}?ticket=${ticket}`). */
  path: z.string(),
  expiresAt: z.string(),
});
export type EventTicketResponse = z.infer<typeof EventTicketResponseSchema>;

export const EventStreamParamsSchema = z.object({ id: uuidSchema }).strict();
export const EventStreamQuerySchema = z.object({ ticket: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, { error: 'must be an event ticket' }).optional() }).strict();

/** The path of the stream of `kind` for `id`. */
export function eventStreamPath(kind: EventStreamKind, id: string): string {
  if (kind === 'backup') return `/api/events/backups/${id.toLowerCase()}`;
  return kind === 'recovery-operation' ? `/api/events/recovery-operations/${id.toLowerCase()}` : `/api/events/validations/${id.toLowerCase()}`;
}

export const RecoveryOperationEventSchema = z.object({ type: z.literal('recovery-operation'), operation: RecoveryOperationSchema });
export const ValidationEventSchema = z.object({ type: z.literal('validation'), validation: SnapshotValidationResponseSchema });
export const BackupEventSchema = z.object({ type: z.literal('backup'), backup: BackupRunSchema });
/** The last message of a stream: the work is over (or the stream reached its time limit: `reason`). */
export const EndEventSchema = z.object({ type: z.literal('end'), reason: z.enum(['finished', 'idle', 'time-limit', 'shutdown']) });

export const AgentEventSchema = z.discriminatedUnion('type', [RecoveryOperationEventSchema, ValidationEventSchema, BackupEventSchema, EndEventSchema]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type RecoveryOperationEvent = z.infer<typeof RecoveryOperationEventSchema>;
export type ValidationEvent = z.infer<typeof ValidationEventSchema>;
export type BackupEvent = z.infer<typeof BackupEventSchema>;
