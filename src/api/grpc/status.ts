/**
 * gRPC statuses of the API. In transport error mode an API error is answered as a gRPC status
 * (Centrifugo's mapping, reference §2.5) whose message is the API error's message and whose
 * details (`grpc-status-details-bin`, a `google.rpc.Status`) carry the API `Error` itself, as
 * Centrifugo's `status.WithDetails` does, so a client can still read the API code.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import pb from 'protobufjs/light.js';
import { ApiErrorCode } from '../../protocol/codes.js';
import { API_PACKAGE, ErrorType } from './schema.js';

/** The gRPC status of each API error code in transport mode; one the table lacks is INTERNAL. */
export const GRPC_STATUS_OF_API_ERROR: Readonly<Record<keyof typeof ApiErrorCode, GrpcStatus>> = {
  internal: GrpcStatus.INTERNAL,
  unknownChannel: GrpcStatus.NOT_FOUND,
  notFound: GrpcStatus.NOT_FOUND,
  badRequest: GrpcStatus.INVALID_ARGUMENT,
  notAvailable: GrpcStatus.INVALID_ARGUMENT,
  unrecoverablePosition: GrpcStatus.OUT_OF_RANGE,
  conflict: GrpcStatus.ALREADY_EXISTS,
};

export function grpcStatusOfApiError(code: number): GrpcStatus {
  for (const [name, e] of Object.entries(ApiErrorCode)) if (e.code === code) return GRPC_STATUS_OF_API_ERROR[name as keyof typeof ApiErrorCode];
  return GrpcStatus.INTERNAL;
}

/** A gRPC error status for grpc-js handlers to answer with. */
export function statusError(code: GrpcStatus, details: string, metadata = new Metadata()): Partial<ServiceError> & { code: GrpcStatus; details: string } {
  return { code, details, metadata, name: 'StatusError', message: details };
}

/** Trailer key of the binary `google.rpc.Status`. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** `type_url` of the API `Error` packed in a `google.protobuf.Any`. */
export const API_ERROR_TYPE_URL = `type.googleapis.com/${API_PACKAGE}.Error`;

/**
 * `google.rpc.Status` and `google.protobuf.Any`, by their well-known field numbers: Status
 * {int32 code = 1; string message = 2; repeated Any details = 3}, Any {string type_url = 1;
 * bytes value = 2}.
 */
const rpcRoot = pb.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } },
            },
          },
        },
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
      },
    },
  },
});
export const RpcStatusType = rpcRoot.lookupType('google.rpc.Status');

/** The transport-mode answer to an API error. */
export function apiErrorStatus(e: { code: number; message: string }): ReturnType<typeof statusError> {
  const grpcCode = grpcStatusOfApiError(e.code);
  const detail = ErrorType.encode({ code: e.code, message: e.message }).finish();
  const st = RpcStatusType.encode({ code: grpcCode, message: e.message, details: [{ type_url: API_ERROR_TYPE_URL, value: detail }] }).finish();
  const md = new Metadata();
  md.set(STATUS_DETAILS_KEY, Buffer.from(st.buffer, st.byteOffset, st.byteLength));
  return statusError(grpcCode, e.message, md);
}
