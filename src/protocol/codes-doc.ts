/**
 * Renders `docs/errors.md` from the code tables, so the document cannot drift from what the
 * server sends (a unit test compares the two; `npm run docs` rewrites the file).
 */
import { ApiErrorCode, DisconnectCode, ErrorCode, UnsubscribeCode } from './codes.js';

const esc = (s: string) => s.replace(/\|/g, '\\|');

/** A row of the server API HTTP status table; the table itself lives with the API (`api/statuses.ts`). */
export interface HttpStatusDoc {
  readonly status: number;
  readonly doc: string;
}

export function renderErrorsMarkdown(apiHttpStatuses: readonly HttpStatusDoc[]): string {
  const out: string[] = [];
  out.push('# Error, disconnect and unsubscribe codes', '');
  out.push('<!-- Generated from src/protocol/codes.ts by `npm run docs`. Do not edit by hand. -->', '');
  out.push('Rotor sends exactly the codes Centrifugo v6 sends; the official SDKs decide what to do (retry,');
  out.push('resubscribe, reconnect, give up) from them.', '');
  out.push('## Client error codes', '');
  out.push('Sent in a reply to a command: `{"id":N,"error":{"code":C,"message":"…"}}`. Temporary errors are');
  out.push('retried by the SDKs. Codes 0–399 are reserved; applications and proxies use 400–1999.', '');
  out.push('| code | message | temporary | when |', '| --- | --- | --- | --- |');
  for (const e of Object.values(ErrorCode)) out.push(`| ${e.code} | ${e.message} | ${e.temporary ? 'yes' : 'no'} | ${esc(e.doc)} |`);
  out.push('', '## Disconnect codes', '');
  out.push('On WebSocket a disconnect is the close frame (code and reason). Other transports receive a');
  out.push('`disconnect` push before the stream ends. 3000–3499 and 4000–4499 make SDKs reconnect;');
  out.push('3500–3999 and 4500–4999 are final. Applications use 4000–4999.', '');
  out.push('| code | reason | reconnect | when |', '| --- | --- | --- | --- |');
  for (const d of Object.values(DisconnectCode)) out.push(`| ${d.code} | ${d.reason} | ${d.reconnect ? 'yes' : 'no'} | ${esc(d.doc)} |`);
  out.push('', '## Unsubscribe codes', '');
  out.push('Sent in an `unsubscribe` push. Codes from 2500 make SDKs resubscribe.', '');
  out.push('| code | reason | resubscribe | when |', '| --- | --- | --- | --- |');
  for (const u of Object.values(UnsubscribeCode)) out.push(`| ${u.code} | ${u.reason} | ${u.resubscribe ? 'yes' : 'no'} | ${esc(u.doc)} |`);
  out.push('', '## Server API error codes', '');
  out.push('In `{"error":{"code","message"}}` of an API reply (HTTP 200). In transport error mode');
  out.push('(`http_api.error_mode: transport` or the `X-Centrifugo-Error-Mode: transport` header) the HTTP');
  out.push('status below is used instead and the body is `{"code","message"}`.', '');
  out.push('| code | message | HTTP status (transport mode) | when |', '| --- | --- | --- | --- |');
  for (const a of Object.values(ApiErrorCode)) out.push(`| ${a.code} | ${a.message} | ${a.httpStatus} | ${esc(a.doc)} |`);
  out.push('', '## Server API HTTP statuses', '');
  out.push('| status | when |', '| --- | --- |');
  for (const s of apiHttpStatuses) out.push(`| ${s.status} | ${esc(s.doc)} |`);
  out.push('');
  return out.join('\n');
}
