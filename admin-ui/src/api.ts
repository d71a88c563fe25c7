/**
 * The admin endpoints (docs/admin.md): `init`, `auth` and `api`. The session token lives in
 * sessionStorage (gone with the tab) and goes in `Authorization: token …`; the page never holds
 * the server API key. A 401 sends the user back to the login.
 */
const TOKEN_KEY = 'rotor-admin-token';

export interface InitInfo {
  insecure: boolean;
  edition: string;
  authenticated: boolean;
}

export class Unauthorized extends Error {}

/** The admin base path: the page's directory (`admin.handler_prefix`). */
function base(): string {
  return location.pathname.replace(/\/[^/]*$/, '');
}

function headers(): Record<string, string> {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t === null ? {} : { Authorization: `token ${t}` };
}

export async function init(): Promise<InitInfo> {
  const r = await fetch(`${base()}/admin/init`, { headers: headers() });
  return (await r.json()) as InitInfo;
}

/** Logs in; resolves with an error text, or undefined when the password was right. */
export async function login(password: string): Promise<string | undefined> {
  const r = await fetch(`${base()}/admin/auth`, { method: 'POST', body: new URLSearchParams({ password }) });
  if (r.status === 429) return 'Too many wrong passwords: wait a minute.';
  if (r.status !== 200) return 'Wrong password.';
  const { token } = (await r.json()) as { token: string };
  sessionStorage.setItem(TOKEN_KEY, token);
  return undefined;
}

export function logout(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export interface ApiAnswer {
  result?: unknown;
  error?: { code: number; message: string };
}

/** Calls a server API method through `/admin/api`. Throws Unauthorized on 401. */
export async function call(method: string, params: unknown): Promise<ApiAnswer> {
  const r = await fetch(`${base()}/admin/api`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers() },
    body: JSON.stringify({ method, params }),
  });
  if (r.status === 401) throw new Unauthorized();
  if (r.status !== 200) return { error: { code: r.status, message: await r.text() } };
  return (await r.json()) as ApiAnswer;
}

/** One line of a watch stream (docs/admin.md, "Watch"): `type` says which fields it has. */
export type TraceLine = { type: string; time?: number } & Record<string, unknown>;

/**
 * Opens a watch stream (`/admin/trace`) and hands each line to `onLine` until the stream ends or
 * `signal` aborts it (then it resolves quietly). Throws Unauthorized on 401, and an Error with the
 * server's reason for any other refusal.
 */
export async function trace(type: 'channel' | 'user', entity: string, signal: AbortSignal, onLine: (l: TraceLine) => void): Promise<void> {
  let r: Response;
  try {
    r = await fetch(`${base()}/admin/trace`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers() }, body: JSON.stringify({ type, entity }), signal });
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
  if (r.status === 401) throw new Unauthorized();
  if (r.status !== 200 || r.body === null) {
    const why = (await r.json().catch(() => ({ error: r.statusText }))) as { error?: string };
    throw new Error(why.error ?? `HTTP ${r.status}`);
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      rest += value;
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line !== '') onLine(JSON.parse(line) as TraceLine);
      }
    }
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
}
