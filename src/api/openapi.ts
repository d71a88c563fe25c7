/**
 * The OpenAPI 3.0 document of the HTTP server API, generated from the method table (`METHODS`)
 * and api.proto's messages (the gRPC API's schema, whose field names are the HTTP API's JSON
 * names): one `POST /api/<method>` per method, its request body the method's request message,
 * its answer the response message (`{"error"|"result"}`; `batch` answers `{"replies"}`).
 *
 * JSON mapping, as the HTTP API reads and writes it: `bytes` fields are payloads given as any
 * JSON value (`data`, `info`, ...; `b64data` carries base64 instead), 64-bit integers are JSON
 * numbers, maps are objects, enums their names.
 */
import pb from 'protobufjs/light.js';
import { API_RPCS } from './grpc/schema.js';
import { METHODS } from './methods.js';

type Schema = Record<string, unknown>;

const SCALARS: Readonly<Record<string, Schema>> = {
  string: { type: 'string' },
  bool: { type: 'boolean' },
  double: { type: 'number', format: 'double' },
  float: { type: 'number', format: 'float' },
  int32: { type: 'integer', format: 'int32' },
  sint32: { type: 'integer', format: 'int32' },
  sfixed32: { type: 'integer', format: 'int32' },
  uint32: { type: 'integer', format: 'int32', minimum: 0 },
  fixed32: { type: 'integer', format: 'int32', minimum: 0 },
  int64: { type: 'integer', format: 'int64' },
  sint64: { type: 'integer', format: 'int64' },
  sfixed64: { type: 'integer', format: 'int64' },
  uint64: { type: 'integer', format: 'int64', minimum: 0 },
  fixed64: { type: 'integer', format: 'int64', minimum: 0 },
  bytes: { description: 'Any JSON value (a payload, kept as it is).' },
};

/** The document; `apiPrefix` is `http_api.handler_prefix`. */
export function openApiDocument(version: string, apiPrefix: string): Schema {
  const schemas: Record<string, Schema> = {};
  const paths: Record<string, Schema> = {};
  for (const method of Object.keys(METHODS)) {
    const rpc = API_RPCS.find((r) => r.method === method);
    if (rpc === undefined) throw new Error(`openapi: method ${method} has no RPC in api.proto`);
    addMessage(rpc.request, schemas);
    addMessage(rpc.response, schemas);
    paths[`${apiPrefix}/${method}`] = {
      post: {
        operationId: method,
        summary: `${method} (gRPC ${rpc.name})`,
        tags: ['server API'],
        requestBody: { required: true, content: { 'application/json': { schema: ref(rpc.request) } } },
        responses: {
          '200': { description: method === 'batch' ? 'The replies, one per command.' : 'The result, or the error that ended the call.', content: { 'application/json': { schema: ref(rpc.response) } } },
          '400': { description: 'The body is not JSON.' },
          '401': { description: 'No API key, or a wrong one.' },
          '413': { description: 'The body is larger than 10 MiB.' },
        },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Rotor server API', version, description: 'Centrifugo v6 server HTTP API as Rotor serves it.' },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }, { authorization: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        authorization: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`apikey <key>`' },
      },
      schemas,
    },
  };
}

function ref(t: pb.Type): Schema {
  return { $ref: `#/components/schemas/${t.name}` };
}

/** Adds `t` and every message and enum it uses to `schemas`, once each. */
function addMessage(t: pb.Type, schemas: Record<string, Schema>): void {
  if (schemas[t.name] !== undefined) return;
  const properties: Record<string, Schema> = {};
  schemas[t.name] = { type: 'object', properties };
  for (const f of t.fieldsArray) {
    f.resolve();
    let item: Schema;
    if (f.resolvedType instanceof pb.Type) {
      addMessage(f.resolvedType, schemas);
      item = ref(f.resolvedType);
    } else if (f.resolvedType instanceof pb.Enum) {
      item = { type: 'string', enum: Object.keys(f.resolvedType.values) };
    } else {
      item = SCALARS[f.type] ?? {};
    }
    if (f instanceof pb.MapField) properties[f.name] = { type: 'object', additionalProperties: item };
    else properties[f.name] = f.repeated ? { type: 'array', items: item } : item;
  }
}
