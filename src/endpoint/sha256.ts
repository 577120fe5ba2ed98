// SHA-256 and HMAC-SHA-256 for @smithy/signature-v4, on node:crypto. The signer takes a hash
// constructor rather than bringing its own, so both the endpoint (verifying) and the remote
// client (signing) hand it this one instead of adding a JavaScript SHA-256 dependency.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export class NodeSha256 {
  private readonly h: Hash | Hmac;

  /** With a secret this is HMAC-SHA-256 keyed by it, as the signer expects. */
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }

  update(data: SourceData): void {
    this.h.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}
