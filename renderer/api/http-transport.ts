import { AgentError, errorFromResponse, type Transport } from './client.js';
import { endpoints, toHttp, type EndpointName } from './endpoints.js';

/**
 * HTTP transport for browsers and e2e: same-origin fetch to the agent that served the page,
 * with the bearer token in the Authorization header (never in a cookie, never in a URL the
 * agent sees, never logged). A network failure becomes AgentError UNREACHABLE.
 */
export function createHttpTransport(opts: { baseUrl?: string; token: () => string | null; fetch?: typeof fetch }): Transport {
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  return {
    kind: 'http',
    async send(name: EndpointName, request: unknown) {
      const parts = toHttp(endpoints[name], request as Parameters<typeof toHttp>[1]);
      const token = opts.token();
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (parts.body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await doFetch(`${opts.baseUrl ?? ''}${parts.url}`, {
          method: parts.method,
          headers,
          body: parts.body === undefined ? undefined : JSON.stringify(parts.body),
          credentials: 'omit',
          cache: 'no-store',
        });
      } catch (err) {
        throw new AgentError('UNREACHABLE', `the agent cannot be reached: ${(err as Error).message}`);
      }
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (!res.ok) throw errorFromResponse(res.status, body);
      return body;
    },
  };
}
