/**
 * HTTP statuses of the server API outside transport error mode: what `api/http.ts` answers and
 * what `docs/errors.md` lists, from this one table. Anything but 200 has a plain-text body (the
 * `text`, newline-terminated).
 */
import { REFUSED_BODY_DRAIN_BYTES, REFUSED_BODY_DRAIN_MS } from '../http/body.js';

const MIB = 1024 * 1024;

export interface ApiHttpStatus {
  readonly status: number;
  readonly text: string;
  readonly doc: string;
}

export const ApiStatus = {
  ok: { status: 200, text: '', doc: 'The call was processed; the body holds `result` or `error`.' },
  badRequest: {
    status: 400,
    text: 'bad request',
    doc: 'The body is empty or not valid JSON, or a field holds the wrong kind of JSON value (`"channel": 5`, `"tags": {"a": 1}`, `commands` that is not a list), as Centrifugo\'s decoder refuses it; nothing runs. Inside a batch, a command with such a field gets error 107 instead. On the legacy `/api` endpoint: an empty body, or a command `id` that is not an integer from 0 to 4294967295.',
  },
  unauthorized: {
    status: 401,
    text: 'unauthorized',
    doc: 'Missing or wrong API key (`X-API-Key`, `Authorization: apikey <key>` or `?api_key=`).',
  },
  methodNotFound: { status: 404, text: 'method not found', doc: 'Unknown method in `/api/<method>`.' },
  methodNotAllowed: { status: 405, text: 'method not allowed', doc: 'Not a POST request.' },
  bodyTooLarge: {
    status: 413,
    text: 'request body too large',
    doc: `Body larger than 10 MiB. Answered at once with \`Connection: close\`; the connection closes when the client has sent the rest of its body (at most ${REFUSED_BODY_DRAIN_BYTES / MIB} MiB more, within ${REFUSED_BODY_DRAIN_MS / 1000} s), so a client that sends it all before reading still reads this answer.`,
  },
  bodyReadError: { status: 500, text: 'body read error', doc: 'The request body could not be read to its end (the client went away mid-body).' },
  shuttingDown: { status: 503, text: 'shutting down', doc: 'The node is shutting down.' },
} as const satisfies Record<string, ApiHttpStatus>;
