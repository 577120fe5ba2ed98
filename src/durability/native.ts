// The addon's durability surface, typed. Root key files are read and written only by these
// native functions: JavaScript handles paths, check values and wrapped blobs, never key bytes.
import { addon, type NativeEngine } from '../native/addon.js';

export interface NativeRootRewrapper {
  /** The blob of one software key material, re-wrapped from the old root key to the new one. */
  rewrap(keySpec: string, keyId: string, materialId: string, wrapped: Uint8Array): Buffer;
  fromCheck(): Buffer;
  toCheck(): Buffer;
  /** Wipes both root keys now. */
  close(): void;
}

export interface NativeDurability {
  rootKeyCheck(rootKeyPath: string): Buffer;
  /** A fresh root key in a new file (an existing file is an error); returns its check value. */
  createRootKeyFile(rootKeyPath: string): Buffer;
  RootRewrapper: new (fromRootKeyPath: string, toRootKeyPath: string) => NativeRootRewrapper;
  escrowRootKey(rootKeyPath: string, passphrase: Uint8Array, escrowPath: string, logN: number): Promise<Buffer>;
  recoverRootKey(escrowPath: string, passphrase: Uint8Array, rootKeyPath: string): Promise<Buffer>;
  escrowCheckValue(escrowPath: string): Buffer;
}

export const durability = (addon as unknown as { durability: NativeDurability }).durability;

/** An engine whose root key can be replaced after another process rotated the store's. */
export type ReloadableEngine = NativeEngine & { reloadRootKey(rootKeyPath: string): Buffer };
