/**
 * The gRPC API's schema at runtime: api.proto's generated descriptor loaded with `protobufjs/light`,
 * with its field names turned back into api.proto's lower_snake_case. The generator camelCases
 * them; snake_case makes a decoded message's keys the HTTP API's JSON names, which the method table
 * reads, and gives reflection clients the names the .proto declares.
 */
import pb from 'protobufjs/light.js';
import { descriptor } from './descriptor.generated.js';

export const API_PACKAGE = 'centrifugal.centrifugo.api';
export const API_SERVICE = `${API_PACKAGE}.CentrifugoApi`;
/** The file name reflection serves api.proto under, as Centrifugo registers it. */
export const API_FILE = 'api.proto';

/**
 * Each RPC of the service and the method-table name (`api/methods.ts` `METHODS`) it runs. Loading
 * fails when the service has an RPC missing here, so the two cannot drift apart silently.
 */
const RPC_TO_METHOD: Readonly<Record<string, string>> = {
  Batch: 'batch',
  Publish: 'publish',
  Broadcast: 'broadcast',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  Disconnect: 'disconnect',
  Presence: 'presence',
  PresenceStats: 'presence_stats',
  History: 'history',
  HistoryRemove: 'history_remove',
  Info: 'info',
  RPC: 'rpc',
  Refresh: 'refresh',
  Channels: 'channels',
};

export interface ApiRpc {
  /** The RPC's name in the service (`PresenceStats`). */
  readonly name: string;
  /** Its method-table name (`presence_stats`). */
  readonly method: string;
  readonly request: pb.Type;
  readonly response: pb.Type;
}

/** `skipHistory` → `skip_history`; digits stay (`b64data`). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** protobufjs's own camelCase of a .proto name (`skip_history` → `skipHistory`). */
function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * A copy of a protobufjs JSON descriptor with every message's field names in snake_case. Throws
 * when a name does not come back unchanged through camelCase: its .proto name was not
 * lower_snake_case, and the snake_case guess would be wrong.
 */
export function withSnakeCaseFields(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withSnakeCaseFields);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'fields' && value !== null && typeof value === 'object') {
      const fields: Record<string, unknown> = {};
      for (const [name, field] of Object.entries(value)) {
        const snake = snakeCase(name);
        if (camelCase(snake) !== name || !/^[a-z][a-z0-9_]*$/.test(snake)) throw new Error(`api.proto field ${name} is not lower_snake_case`);
        fields[snake] = field;
      }
      out[key] = fields;
    } else out[key] = withSnakeCaseFields(value);
  }
  return out;
}

export const apiRoot = pb.Root.fromJSON(withSnakeCaseFields(descriptor) as pb.INamespace);
apiRoot.resolveAll();

export const apiService = apiRoot.lookupService(API_SERVICE);

/** The package namespace, as reflection describes it. */
export const apiPackage = ((): pb.Namespace => {
  const ns = apiRoot.lookup(API_PACKAGE);
  if (!(ns instanceof pb.Namespace)) throw new Error(`api.proto: package ${API_PACKAGE} missing`);
  return ns;
})();

export const API_RPCS: readonly ApiRpc[] = apiService.methodsArray.map((m) => {
  const method = RPC_TO_METHOD[m.name];
  if (method === undefined) throw new Error(`api.proto: RPC ${m.name} has no method-table entry`);
  const request = m.resolvedRequestType;
  const response = m.resolvedResponseType;
  if (request === null || response === null) throw new Error(`api.proto: RPC ${m.name} has unresolved types`);
  return { name: m.name, method, request, response };
});

/** The API error message type, carried in a transport-mode status's details. */
export const ErrorType = apiRoot.lookupType(`${API_PACKAGE}.Error`);
