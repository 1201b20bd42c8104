import { ApiErrorSchema } from '../../agent/contract/api.js';
import { endpoints, type EndpointName, type RequestOf, type ResponseOf } from './endpoints.js';

/** One field the agent rejected, as its 400 names it (`body.backupFrequencyMinutes`). */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Every failure the console shows. `code` is the agent's error code (BAD_INPUT, NOT_FOUND, …) or
 * UNREACHABLE when the agent could not be reached at all (offline, stopped), which the screens
 * show as the offline banner rather than as an error of the request.
 */
export class AgentError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: FieldProblem[];

  constructor(code: string, message: string, status = 0, fields: FieldProblem[] = []) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    this.status = status;
    this.fields = fields;
  }

  /** The route does not exist on this agent (a feature it does not offer yet). */
  get notOffered(): boolean {
    return this.status === 404 && /^no route /.test(this.message);
  }
}

/** The serialisable shape of an AgentError, as it crosses the IPC bridge. */
export interface AgentErrorBody {
  code: string;
  message: string;
  status: number;
  fields?: FieldProblem[];
}

export function errorFromBody(body: AgentErrorBody): AgentError {
  return new AgentError(body.code, body.message, body.status, body.fields ?? []);
}

/** Reads an agent error response body (`{ error: { code, message, fields? } }`). */
export function errorFromResponse(status: number, body: unknown): AgentError {
  const parsed = ApiErrorSchema.safeParse(body);
  if (parsed.success) return new AgentError(parsed.data.error.code, parsed.data.error.message, status, parsed.data.error.fields ?? []);
  return new AgentError(status >= 500 ? 'INTERNAL' : 'BAD_RESPONSE', `the agent answered ${status}`, status);
}

/** How a request reaches the agent: HTTP (browser, e2e) or IPC through the preload (Electron). */
export interface Transport {
  readonly kind: 'http' | 'ipc';
  /** Sends a request already checked against the endpoint's schema; resolves with the raw JSON answer. */
  send(name: EndpointName, request: unknown): Promise<unknown>;
}

/**
 * The one interface every screen uses. `call` checks the request against the contract schema
 * before it leaves (so a bad form value is caught with the field named, without a round trip)
 * and the answer against the response schema (so a contract drift is an error, not a crash
 * deep in a screen).
 */
export interface AgentClient {
  readonly transport: Transport['kind'];
  call<K extends EndpointName>(name: K, request: RequestOf<K>): Promise<ResponseOf<K>>;
}

export function createAgentClient(transport: Transport): AgentClient {
  return {
    transport: transport.kind,
    async call(name, request) {
      const ep = endpoints[name];
      const req = ep.request.safeParse(request ?? {});
      if (!req.success) {
        const fields = req.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message }));
        throw new AgentError('BAD_INPUT', fields.map((f) => `${f.field}: ${f.message}`).join('; '), 400, fields);
      }
      const raw = await transport.send(name, req.data);
      const res = ep.response.safeParse(raw);
      if (!res.success) throw new AgentError('BAD_RESPONSE', `the agent's answer to ${name} does not match the contract: ${res.error.issues[0]?.path.join('.')}: ${res.error.issues[0]?.message}`);
      return res.data as ResponseOf<typeof name>;
    },
  };
}
