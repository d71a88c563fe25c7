/**
 * gRPC server reflection (`grpc.reflection.v1.ServerReflection` and the older
 * `grpc.reflection.v1alpha.ServerReflection` that many tools still ask first), so `grpcurl list`
 * and `grpcurl describe` work without the .proto. One bidirectional stream; each request message
 * gets one response message.
 *
 * Answers: `list_services`; `file_by_filename` and `file_containing_symbol` for the files served
 * (api.proto and the reflection protos themselves); `all_extension_numbers_of_type` (an empty list
 * for a known message: these protos declare no extensions). Anything else gets an `error_response`
 * NOT_FOUND, as gRPC's reference implementation does.
 */
import { status as GrpcStatus, type ServerDuplexStream, type ServiceDefinition, type UntypedHandleCall } from '@grpc/grpc-js';
import pb from 'protobufjs/light.js';
import { fileDescriptorBytes } from './file-descriptor.js';

/**
 * reflection.proto's messages as a protobufjs JSON descriptor, snake_case names. Field numbers
 * are the gRPC specification's (ServerReflectionRequest has no field 2, the response no field 3).
 */
function reflectionPackage(): pb.INamespace {
  const str = (id: number) => ({ type: 'string', id });
  return {
    nested: {
      ServerReflection: {
        methods: {
          ServerReflectionInfo: {
            requestType: 'ServerReflectionRequest',
            requestStream: true,
            responseType: 'ServerReflectionResponse',
            responseStream: true,
          },
        },
      },
      ServerReflectionRequest: {
        oneofs: { message_request: { oneof: ['file_by_filename', 'file_containing_symbol', 'file_containing_extension', 'all_extension_numbers_of_type', 'list_services'] } },
        fields: {
          host: str(1),
          file_by_filename: str(3),
          file_containing_symbol: str(4),
          file_containing_extension: { type: 'ExtensionRequest', id: 5 },
          all_extension_numbers_of_type: str(6),
          list_services: str(7),
        },
      },
      ExtensionRequest: { fields: { containing_type: str(1), extension_number: { type: 'int32', id: 2 } } },
      ServerReflectionResponse: {
        oneofs: { message_response: { oneof: ['file_descriptor_response', 'all_extension_numbers_response', 'list_services_response', 'error_response'] } },
        fields: {
          valid_host: str(1),
          original_request: { type: 'ServerReflectionRequest', id: 2 },
          file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
          all_extension_numbers_response: { type: 'ExtensionNumberResponse', id: 5 },
          list_services_response: { type: 'ListServiceResponse', id: 6 },
          error_response: { type: 'ErrorResponse', id: 7 },
        },
      },
      FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
      ExtensionNumberResponse: { fields: { base_type_name: str(1), extension_number: { rule: 'repeated', type: 'int32', id: 2 } } },
      ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
      ServiceResponse: { fields: { name: str(1) } },
      ErrorResponse: { fields: { error_code: { type: 'int32', id: 1 }, error_message: str(2) } },
    },
  };
}

export const REFLECTION_VERSIONS = ['v1', 'v1alpha'] as const;

const reflectionRoot = pb.Root.fromJSON({
  nested: { grpc: { nested: { reflection: { nested: Object.fromEntries(REFLECTION_VERSIONS.map((v) => [v, reflectionPackage()])) } } } },
});
reflectionRoot.resolveAll();

/** The request and response types of one reflection version (tests build clients from them). */
export function reflectionTypes(version: (typeof REFLECTION_VERSIONS)[number]): { request: pb.Type; response: pb.Type; service: string } {
  const pkg = `grpc.reflection.${version}`;
  return {
    request: reflectionRoot.lookupType(`${pkg}.ServerReflectionRequest`),
    response: reflectionRoot.lookupType(`${pkg}.ServerReflectionResponse`),
    service: `${pkg}.ServerReflection`,
  };
}

/** A file reflection serves: its name, package and serialized descriptor. */
export interface ServedFile {
  readonly name: string;
  /** Package namespace, to find which file declares a symbol. */
  readonly ns: pb.Namespace;
  readonly bytes: Buffer;
}

type Decoded = Record<string, unknown>;

/** The reflection service for `services` (full names) and the files declaring them. */
export class Reflection {
  private readonly files: ServedFile[];
  private readonly services: string[];

  constructor(services: readonly string[], files: readonly ServedFile[]) {
    const own = REFLECTION_VERSIONS.map((v) => {
      const ns = reflectionRoot.lookup(`grpc.reflection.${v}`);
      if (!(ns instanceof pb.Namespace)) throw new Error(`reflection ${v} package missing`);
      const name = `grpc/reflection/${v}/reflection.proto`;
      return { name, ns, bytes: fileDescriptorBytes(ns, name) };
    });
    this.files = [...files, ...own];
    this.services = [...services, ...REFLECTION_VERSIONS.map((v) => reflectionTypes(v).service)];
  }

  /** grpc-js service definitions (one per version) and their handlers, to `addService`. */
  definitions(): { definition: ServiceDefinition; handlers: Record<string, UntypedHandleCall> }[] {
    const identity = (b: Buffer): Buffer => b;
    return REFLECTION_VERSIONS.map((v) => {
      const t = reflectionTypes(v);
      const definition: ServiceDefinition = {
        ServerReflectionInfo: {
          path: `/${t.service}/ServerReflectionInfo`,
          requestStream: true,
          responseStream: true,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      };
      const handler = (call: ServerDuplexStream<Buffer, Buffer>): void => this.serve(call, t.request, t.response);
      return { definition, handlers: { ServerReflectionInfo: handler } };
    });
  }

  private serve(call: ServerDuplexStream<Buffer, Buffer>, requestType: pb.Type, responseType: pb.Type): void {
    call.on('data', (buf: Buffer) => {
      let req: Decoded;
      try {
        req = requestType.decode(buf) as unknown as Decoded;
      } catch (err) {
        call.emit('error', { code: GrpcStatus.INVALID_ARGUMENT, details: `reflection request: ${(err as Error).message}` });
        return;
      }
      const answer = this.answer(req);
      // A peer that asks and never reads would otherwise have every ~10 KB answer buffered here:
      // reading stops until the answers drain, and HTTP/2 flow control holds the peer back.
      if (!call.write(Buffer.from(responseType.encode({ valid_host: req.host, original_request: req, ...answer }).finish()))) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    });
    call.on('end', () => call.end());
  }

  /** The response's `message_response` member for one request. */
  answer(req: Decoded): Decoded {
    const has = (k: string): boolean => Object.hasOwn(req, k);
    if (has('list_services')) return { list_services_response: { service: this.services.map((name) => ({ name })) } };
    if (has('file_by_filename')) return this.fileAnswer(this.files.find((f) => f.name === req.file_by_filename), 'file');
    if (has('file_containing_symbol')) return this.fileAnswer(this.fileDeclaring(String(req.file_containing_symbol)), 'symbol');
    if (has('all_extension_numbers_of_type')) {
      const name = String(req.all_extension_numbers_of_type);
      if (this.fileDeclaring(name) !== undefined) return { all_extension_numbers_response: { base_type_name: name, extension_number: [] } };
      return notFound('type not found');
    }
    if (has('file_containing_extension')) return notFound('extension not found');
    return { error_response: { error_code: GrpcStatus.INVALID_ARGUMENT, error_message: 'invalid reflection request: no message_request set' } };
  }

  private fileAnswer(file: ServedFile | undefined, what: string): Decoded {
    return file === undefined ? notFound(`${what} not found`) : { file_descriptor_response: { file_descriptor_proto: [file.bytes] } };
  }

  /** The served file declaring a fully qualified symbol: a message, a service or a service's method. */
  private fileDeclaring(symbol: string): ServedFile | undefined {
    const name = symbol.replace(/^\./, '');
    return this.files.find((f) => {
      const pkg = f.ns.fullName.replace(/^\./, '');
      if (!name.startsWith(`${pkg}.`)) return false;
      const parts = name.slice(pkg.length + 1).split('.');
      const top = f.ns.get(parts[0]!);
      if (top instanceof pb.Service) return parts.length === 1 || (parts.length === 2 && Object.hasOwn(top.methods, parts[1]!));
      if (!(top instanceof pb.Type)) return false;
      let t: pb.ReflectionObject | null = top;
      for (const p of parts.slice(1)) t = t instanceof pb.Namespace ? t.get(p) : null;
      return t instanceof pb.Type;
    });
  }
}

function notFound(message: string): Decoded {
  return { error_response: { error_code: GrpcStatus.NOT_FOUND, error_message: message } };
}
