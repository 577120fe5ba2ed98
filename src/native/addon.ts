// Loads the native addon and describes its surface. The addon is the only place key material
// exists unwrapped; everything here is opaque handles, public keys and wrapped blobs.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Context = Record<string, string> | undefined;

/**
 * One material of one KMS key, usable from JavaScript only through these methods. `allowInline`
 * lets a software key already in memory do cheap work (AES, HMAC; P-256 and Ed25519 signatures)
 * on the calling thread, its promise then settled at once; see src/operations/inline-budget.ts.
 * sign and verify done inline return their result itself, or throw, instead of a settled promise;
 * a result made inline goes into `out` when it fits, and its length is returned instead
 * (src/operations/result-buffer.ts).
 */
export interface NativeKeyHandle {
  sign(algorithm: string, isDigest: boolean, message: Uint8Array, allowInline?: boolean, out?: Uint8Array): Buffer | number | Promise<Buffer>;
  verify(algorithm: string, isDigest: boolean, message: Uint8Array, signature: Uint8Array, allowInline?: boolean): void | Promise<void>;
  encrypt(algorithm: string, plaintext: Uint8Array, context: Context, allowInline?: boolean, out?: Uint8Array): Buffer | number | Promise<Buffer>;
  decrypt(algorithm: string, ciphertext: Uint8Array, context: Context, allowInline?: boolean): Buffer | Promise<Buffer>;
  reEncrypt(
    algorithm: string,
    ciphertext: Uint8Array,
    context: Context,
    destination: NativeKeyHandle,
    destinationAlgorithm: string,
    destinationContext: Context,
  ): Promise<Buffer>;
  generateDataKey(
    algorithm: string,
    numberOfBytes: number,
    context: Context,
    withPlaintext: boolean,
    allowInline?: boolean,
    /** Made inline: the ciphertext goes here, and its length is returned... */
    out?: Uint8Array,
    /** ...and the plaintext here, when it has exactly this length. */
    plaintextOut?: Uint8Array,
  ): { ciphertext: Buffer; plaintext?: Buffer } | number | Promise<{ ciphertext: Buffer; plaintext?: Buffer }>;
  generateDataKeyPair(
    algorithm: string,
    keyPairSpec: string,
    context: Context,
    withPlaintext: boolean,
  ): Promise<{ ciphertext: Buffer; publicKey: Buffer; privateKey?: Buffer }>;
  generateMac(algorithm: string, message: Uint8Array, allowInline?: boolean, out?: Uint8Array): Buffer | number | Promise<Buffer>;
  verifyMac(algorithm: string, message: Uint8Array, mac: Uint8Array, allowInline?: boolean): void | Promise<void>;
  deriveSharedSecret(publicKey: Uint8Array, allowInline?: boolean): Buffer | Promise<Buffer>;
}

export interface NativeEngine {
  checkValue(): Buffer;
  generateKey(
    keySpec: string,
    keyId: string,
    materialId: string,
  ): Promise<{ wrapped: Buffer; publicKey?: Buffer; handle: NativeKeyHandle }>;
  keyHandle(keySpec: string, keyId: string, materialId: string, wrapped: Uint8Array): NativeKeyHandle;
  evict(keyId: string): void;
  cachedKeys(): number;
  close(): void;
}

export interface NativeAddon {
  Engine: new (rootKeyPath: string, createRootKey: boolean, cacheCapacity: number) => NativeEngine;
  opensslVersion(): string;
  /** Whether the addon's OpenSSL has ML-DSA (3.5 and later): ML_DSA_* keys are offered then. */
  mlDsa(): boolean;
  parseCiphertext(ciphertext: Uint8Array): { keyId: string; materialId: string };
  randomBytes(numberOfBytes: number): Buffer;
  /** OpenSSL's secure heap, where key material lives (locked memory, not in core dumps). */
  /** wipesFrees: OpenSSL's ordinary allocations are wiped when freed (native/include/ekms/wiping_heap.hpp). */
  secureHeap(): { enabled: boolean; locked: boolean; size: number; used: number; wipesFrees: boolean };
  /** What the addon makes of the environment variables it reads itself (binding/env_number.hpp). */
  envSettings(): EnvSetting[];
  /** No core file and no ptrace for this process (the ekms command's own); true when both took. */
  forbidCoreDumps(): boolean;
}

/** Error codes the addon attaches to its errors (`err.code`). */
export type NativeErrorCode =
  | 'EKMS_INVALID_INPUT'
  | 'EKMS_INVALID_CIPHERTEXT'
  | 'EKMS_INVALID_SIGNATURE'
  | 'EKMS_INVALID_MAC'
  | 'EKMS_INVALID_KEY_BLOB'
  | 'EKMS_INCORRECT_KEY'
  | 'EKMS_UNSUPPORTED'
  | 'EKMS_ROOT_KEY'
  | 'EKMS_KEY_UNAVAILABLE'
  | 'EKMS_KEY_MATERIAL_GONE'
  | 'EKMS_INTERNAL';

export function nativeCode(err: unknown): NativeErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('EKMS_') ? (code as NativeErrorCode) : undefined;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const missingAddonMessage =
  'embedded-kms: no native addon for this platform. Build it with `npm run build:native` ' +
  '(needs cmake, a C++17 compiler and OpenSSL 3 headers and static library: on Debian ' +
  '`apt-get install cmake g++ libssl-dev libp11-kit-dev`).';

/**
 * Where the addon comes from: a local build wins (developers, install-time builds), then a
 * prebuilt binary for this platform (prebuilds/<platform>-<arch>/, as node-gyp-build finds it).
 */
export function locateAddon(
  root: string,
  exists: (path: string) => boolean = existsSync,
  findPrebuilt: (root: string) => string | undefined = defaultFindPrebuilt,
): string {
  const local = join(root, 'build', 'Release', 'embedded_kms.node');
  if (exists(local)) return local;
  const prebuilt = findPrebuilt(root);
  if (prebuilt) return prebuilt;
  throw new Error(missingAddonMessage);
}

function defaultFindPrebuilt(root: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    return nodeGypBuild.resolve(root);
  } catch {
    return undefined;
  }
}

export const addon: NativeAddon = createRequire(import.meta.url)(locateAddon(packageRoot)) as NativeAddon;

/**
 * What the package exports of the addon (`native`): facts about the build and the process, nothing
 * that holds or moves key material. The addon itself also has the engine and the root key
 * primitives of `ekms rotate-root-key`, `escrow-root-key` and `restore`; exported, they would let
 * any JavaScript re-wrap the store's keys under a root key of its own and read them (a
 * RootRewrapper given a destination key file it wrote), which no API of the package may allow.
 */
export const publicNative: Readonly<Pick<NativeAddon, 'opensslVersion' | 'mlDsa' | 'secureHeap' | 'parseCiphertext' | 'envSettings'>> = Object.freeze({
  opensslVersion: () => addon.opensslVersion(),
  envSettings: () => addon.envSettings(),
  mlDsa: () => addon.mlDsa(),
  secureHeap: () => addon.secureHeap(),
  parseCiphertext: (ciphertext: Uint8Array) => addon.parseCiphertext(ciphertext),
});

/** An environment variable the addon reads itself, and what it made of the value. */
export interface EnvSetting {
  name: string;
  /** As set; '' when unset. */
  value: string;
  problem: '' | 'not-a-number' | 'too-large';
  /** What the addon uses. */
  used: number;
}

const sizeText = (bytes: number): string =>
  bytes >= 2 ** 30 && bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30} GiB` : bytes >= 2 ** 20 && bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20} MiB` : `${bytes} bytes`;

// How each variable's values are said: the rules (digits only, the bounds, the defaults) are the
// addon's, which reports what it made of each value (binding/env_number.hpp).
const wording: Record<string, { noun: string; amount: (used: number) => string }> = {
  EKMS_SECURE_HEAP_BYTES: { noun: 'number of bytes', amount: sizeText },
  EKMS_PKCS11_THREADS: { noun: 'number of threads', amount: (n) => `${n} thread${n === 1 ? '' : 's'}` },
};

/**
 * Warnings for the values the addon could not use as given: native code falls back to a default
 * (or a bound) without a word, so each is said here, as the package loads.
 */
export function nativeEnvWarnings(settings: readonly EnvSetting[]): string[] {
  const out: string[] = [];
  for (const s of settings) {
    const words = wording[s.name] ?? { noun: 'number', amount: String };
    if (s.problem === 'not-a-number') out.push(`${s.name}=${JSON.stringify(s.value)} is not a usable ${words.noun}: the default, ${words.amount(s.used)}, is used`);
    else if (s.problem === 'too-large') out.push(`${s.name}=${s.value} is over the limit: ${words.amount(s.used)}, the limit, is used`);
  }
  return out;
}

for (const warning of nativeEnvWarnings(addon.envSettings())) process.emitWarning(`embedded-kms: ${warning}`, 'EmbeddedKmsWarning');
