// What @aws-sdk/client-kms gives beside the KMS members of a result, so that code written for it
// works on a Kms unchanged: blobs as plain Uint8Arrays, and `$metadata`, on results and errors.
//
// The addon and the operations make their blobs as Buffers. A Buffer is a Uint8Array, but not
// to node:assert's deepStrictEqual (a test comparing a Plaintext with `new TextEncoder().encode()`
// fails), and its slice() is a view, not a copy: `const key = Plaintext.slice(); Plaintext.fill(0)`
// wiped `key` too, where with the SDK it keeps the data key. The plain Uint8Array is a view of
// the same memory: nothing is copied.
import { httpStatusOf, KmsError } from './errors.js';
import { operations, shapes, type OperationName } from './model/service-model.js';

const blobMembers = new Map<string, readonly string[]>();

/** The blob members of an operation's output (KMS's outputs have them at the top level only). */
function blobsOf(operation: OperationName): readonly string[] {
  let names = blobMembers.get(operation);
  if (names === undefined) {
    const members = shapes[operations[operation]?.output ?? '']?.members ?? {};
    names = Object.keys(members).filter((m) => shapes[members[m]!.shape]?.type === 'blob');
    blobMembers.set(operation, names);
  }
  return names;
}

/** The output with its Buffers as plain Uint8Arrays (in place: each result is a fresh object). */
export function withPlainBlobs<T>(operation: OperationName, output: T): T {
  const o = output as Record<string, unknown> | undefined;
  if (o === undefined || o === null) return output;
  for (const m of blobsOf(operation)) {
    const v = o[m];
    if (Buffer.isBuffer(v)) o[m] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return output;
}

/**
 * The SDK's `$metadata` of a call that succeeded: as the endpoint would have answered (200, no
 * retries). Not enumerable: `out.$metadata.requestId` reads it, while a deep comparison of a
 * result with the members expected, a spread and JSON.stringify see the operation's members only.
 */
export function withMetadata<T>(output: T, requestId: string): T {
  if (output !== null && typeof output === 'object')
    Object.defineProperty(output, '$metadata', { value: { httpStatusCode: 200, requestId, attempts: 1, totalRetryDelay: 0 }, writable: true, configurable: true });
  return output;
}

/** An error of a call, with the `$metadata` the SDK's would carry (unless it has one already: the endpoint client's). */
export function withErrorMetadata(error: unknown, requestId: string): unknown {
  if (error instanceof KmsError && error.$metadata.httpStatusCode === undefined && error.$metadata.requestId === undefined)
    Object.assign(error.$metadata, { httpStatusCode: httpStatusOf(error), requestId, attempts: 1, totalRetryDelay: 0 });
  return error;
}
