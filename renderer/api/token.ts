/**
 * How a browser tab gets the agent's API token without it ever reaching a cookie, a server log
 * or the browser history. The link the agent prints carries a one-time login code in the URL
 * *fragment* (`http://127.0.0.1:PORT/#login=CODE`), which browsers never send to the server;
 * the console trades it once for the token (POST /console/login). Callers that already hold the
 * token (tests) may pass `#token=TOKEN` instead. Either way the token then lives in
 * sessionStorage (this tab only, gone when it closes) and the fragment is replaced, so it leaves
 * the address bar and the history.
 */
const KEY = 'wedsync.agentToken';

export interface TokenEnv {
  location: Pick<Location, 'hash' | 'pathname' | 'search'>;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  replaceUrl: (url: string) => void;
  exchange: (code: string) => Promise<string>;
}

export async function resolveBrowserToken(env: TokenEnv): Promise<{ token: string | null; error?: string }> {
  const m = /^#(token|login)=([A-Za-z0-9_\-.~]+)(.*)$/.exec(env.location.hash);
  if (!m) return { token: env.storage.getItem(KEY) };
  const rest = m[3]?.startsWith('&') ? `#${m[3].slice(1)}` : '#/';
  env.replaceUrl(`${env.location.pathname}${env.location.search}${rest}`);
  if (m[1] === 'token') {
    env.storage.setItem(KEY, m[2]!);
    return { token: m[2]! };
  }
  try {
    const token = await env.exchange(m[2]!);
    env.storage.setItem(KEY, token);
    return { token };
  } catch (err) {
    // A used or expired link: fall back to a token this tab already has, if any.
    return { token: env.storage.getItem(KEY), error: (err as Error).message };
  }
}

/** POST /console/login { code } → { token }. */
export async function exchangeLoginCode(code: string, doFetch: typeof fetch = fetch): Promise<string> {
  const res = await doFetch('/console/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }), credentials: 'omit', cache: 'no-store' });
  const body = (await res.json().catch(() => null)) as { token?: string; error?: { message?: string } } | null;
  if (!res.ok || typeof body?.token !== 'string') throw new Error(body?.error?.message ?? `login failed (${res.status})`);
  return body.token;
}
