/**
 * The server API called from code, for embedders: the same method table (`api/methods.ts`) the HTTP
 * API serves, with the same request and result objects.
 *
 * A request goes through JSON on its way in, exactly as an HTTP body would: payload members
 * (`data`, `info`, `params`) reach the method as the JSON text of the value given, and binary
 * payloads go in `b64data`/`b64info` as base64. The result comes back as the plain value of the
 * HTTP answer's `result` member (for `batch`, the whole answer). The cost (one stringify and one
 * parse each way) is that of a request body, with no socket.
 */
import { METHODS, errorObject, type ApiContext } from '../api/methods.js';
import { parseApiJson } from '../api/json.js';
import { asObject } from '../protocol/json/fields.js';
import { toJsonText } from '../protocol/json/json-text.js';
import { ApiErrorCode } from '../protocol/codes.js';
import { ReplyError } from '../protocol/errors.js';
import { messageOf } from '../util/message-of.js';

/** A server API request or result in its JSON form. */
export type ApiObject = Record<string, unknown>;

/**
 * Runs the server API method `method` with `request`. Resolves with the result; rejects with a
 * `ReplyError` carrying the API error (`code` 104 for an unknown method, 107 for a bad request,
 * 102 for an unknown channel, ...), or with an `Error` when the node is shutting down.
 */
export async function callApi(ctx: ApiContext, method: string, request: ApiObject = {}): Promise<ApiObject> {
  if (ctx.node.isShuttingDown) throw new Error('Rotor is shutting down: the server API no longer runs methods');
  const m = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (m === undefined) throw new ReplyError(ApiErrorCode.notFound.code, `${ApiErrorCode.notFound.message}: no API method "${method}"`);
  let parsed;
  try {
    parsed = asObject(parseApiJson(JSON.stringify(request)));
  } catch (e) {
    throw new ReplyError(ApiErrorCode.badRequest.code, `${ApiErrorCode.badRequest.message}: ${messageOf(e)}`);
  }
  try {
    return JSON.parse(toJsonText(await m(ctx, parsed))) as ApiObject;
  } catch (e) {
    const eo = errorObject(e);
    if (eo.code === ApiErrorCode.internal.code) ctx.node.rateLog.error({ err: e, method, api: 'embedded' }, 'api call failed');
    throw new ReplyError(eo.code, eo.message);
  }
}
