/**
 * A protobufjs package as a serialized `google.protobuf.FileDescriptorProto`, what gRPC server
 * reflection hands to clients (grpcurl, Postman, grpcui). Built the way protoc describes a proto3
 * file: fully qualified type names, a `<Field>Entry` message per map field, `json_name` on every
 * field, reserved ranges and oneofs kept. Covers what Rotor's protos use: messages, maps, oneofs,
 * services; no enums, extensions or imports.
 */
import { createRequire } from 'node:module';
import pb from 'protobufjs/light.js';

const require = createRequire(import.meta.url);
const descriptorRoot = pb.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json') as pb.INamespace);
const FileDescriptorProto = descriptorRoot.lookupType('google.protobuf.FileDescriptorProto');

/** `FieldDescriptorProto.Type` values of the scalar types. */
const SCALAR_TYPE: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

interface FieldDesc {
  name: string;
  number: number;
  label: number;
  type: number;
  typeName?: string;
  jsonName: string;
  oneofIndex?: number;
}

interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  oneofDecl: { name: string }[];
  reservedRange: { start: number; end: number }[];
  reservedName: string[];
  options?: { mapEntry: boolean };
}

/** protoc's json_name: underscores dropped, the letter after one upper-cased. */
function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** protoc's map entry name: `tags` → `TagsEntry`, `conn_info` → `ConnInfoEntry`. */
function mapEntryName(field: string): string {
  const camel = jsonName(field);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function scalarOrMessage(f: pb.Field, type: string, resolved: pb.Type | pb.Enum | null): Pick<FieldDesc, 'type' | 'typeName'> {
  const scalar = SCALAR_TYPE[type];
  if (scalar !== undefined) return { type: scalar };
  if (resolved instanceof pb.Type) return { type: TYPE_MESSAGE, typeName: resolved.fullName };
  throw new Error(`file descriptor: field ${f.fullName} has a type (${type}) this builder does not describe`);
}

function describeField(f: pb.Field, parent: MessageDesc, oneofs: readonly string[]): FieldDesc {
  const base = { name: f.name, number: f.id, jsonName: jsonName(f.name) };
  const oneof = f.partOf !== null ? oneofs.indexOf(f.partOf.name) : -1;
  if (f instanceof pb.MapField) {
    const entry: MessageDesc = {
      name: mapEntryName(f.name),
      field: [
        { name: 'key', number: 1, label: LABEL_OPTIONAL, jsonName: 'key', ...scalarOrMessage(f, f.keyType, null) },
        { name: 'value', number: 2, label: LABEL_OPTIONAL, jsonName: 'value', ...scalarOrMessage(f, f.type, f.resolvedType) },
      ],
      nestedType: [],
      oneofDecl: [],
      reservedRange: [],
      reservedName: [],
      options: { mapEntry: true },
    };
    parent.nestedType.push(entry);
    return { ...base, label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `${f.parent?.fullName ?? ''}.${entry.name}` };
  }
  return {
    ...base,
    label: f.repeated ? LABEL_REPEATED : LABEL_OPTIONAL,
    ...scalarOrMessage(f, f.type, f.resolvedType),
    ...(oneof >= 0 ? { oneofIndex: oneof } : {}),
  };
}

function describeMessage(t: pb.Type): MessageDesc {
  const oneofs = t.oneofsArray.map((o) => o.name);
  const m: MessageDesc = { name: t.name, field: [], nestedType: [], oneofDecl: oneofs.map((name) => ({ name })), reservedRange: [], reservedName: [] };
  for (const f of t.fieldsArray) m.field.push(describeField(f, m, oneofs));
  for (const r of t.reserved ?? []) {
    // protobufjs keeps inclusive [start, end] pairs; the descriptor's end is exclusive.
    if (typeof r === 'string') m.reservedName.push(r);
    else m.reservedRange.push({ start: r[0]!, end: r[1]! + 1 });
  }
  for (const n of t.nestedArray) if (n instanceof pb.Type) m.nestedType.push(describeMessage(n));
  return m;
}

/**
 * The serialized FileDescriptorProto of `ns` (a package namespace) as file `fileName`, proto3.
 * `goPackage` keeps the file's `go_package` option.
 */
export function fileDescriptorBytes(ns: pb.Namespace, fileName: string, goPackage?: string): Buffer {
  ns.resolveAll();
  const messageType: MessageDesc[] = [];
  const service: { name: string; method: { name: string; inputType: string; outputType: string; clientStreaming: boolean; serverStreaming: boolean }[] }[] = [];
  for (const n of ns.nestedArray) {
    if (n instanceof pb.Type) messageType.push(describeMessage(n));
    else if (n instanceof pb.Service) {
      service.push({
        name: n.name,
        method: n.methodsArray.map((m) => ({
          name: m.name,
          inputType: m.resolvedRequestType?.fullName ?? '',
          outputType: m.resolvedResponseType?.fullName ?? '',
          clientStreaming: m.requestStream === true,
          serverStreaming: m.responseStream === true,
        })),
      });
    }
  }
  const file = FileDescriptorProto.fromObject({
    name: fileName,
    package: ns.fullName.replace(/^\./, ''),
    messageType,
    service,
    syntax: 'proto3',
    ...(goPackage !== undefined ? { options: { goPackage } } : {}),
  });
  const bytes = FileDescriptorProto.encode(file).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
