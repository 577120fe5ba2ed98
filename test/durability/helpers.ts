// Shared by the durability suites: keys of every kind in a store, and a check that each still
// works after whatever the test did to the store (restart, restore, root key rotation).
import { createPublicKey, verify as nodeVerify } from 'node:crypto';

import Database from 'better-sqlite3';

import type { Kms } from '../../src/index.js';

export interface SampleKey {
  keyId: string;
  kind: 'symmetric' | 'ecc' | 'rsa' | 'hmac';
  /** Made before the test changed the store: must still decrypt / verify afterwards. */
  ciphertext?: Uint8Array;
  signature?: Uint8Array;
  mac?: Uint8Array;
}

const message = Buffer.from('durability sample message');

export async function makeSampleKeys(kms: Kms): Promise<SampleKey[]> {
  const out: SampleKey[] = [];
  const sym = (await kms.createKey({})).KeyMetadata!.KeyId!;
  out.push({ keyId: sym, kind: 'symmetric', ciphertext: (await kms.encrypt({ KeyId: sym, Plaintext: message })).CiphertextBlob });
  const ecc = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  out.push({ keyId: ecc, kind: 'ecc', signature: (await kms.sign({ KeyId: ecc, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature });
  const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
  out.push({
    keyId: rsa,
    kind: 'rsa',
    ciphertext: (await kms.encrypt({ KeyId: rsa, Plaintext: message, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).CiphertextBlob,
  });
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId!;
  out.push({ keyId: hmac, kind: 'hmac', mac: (await kms.generateMac({ KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' })).Mac });
  return out;
}

/** Every sample key still does its job, old outputs included. Returns a list of failures. */
export async function checkSampleKeys(kms: Kms, keys: readonly SampleKey[]): Promise<string[]> {
  const failures: string[] = [];
  for (const k of keys) {
    try {
      switch (k.kind) {
        case 'symmetric': {
          const old = await kms.decrypt({ CiphertextBlob: k.ciphertext! });
          if (!Buffer.from(old.Plaintext!).equals(message)) failures.push(`${k.keyId}: old ciphertext decrypts wrong`);
          const fresh = await kms.encrypt({ KeyId: k.keyId, Plaintext: message });
          const back = await kms.decrypt({ CiphertextBlob: fresh.CiphertextBlob! });
          if (!Buffer.from(back.Plaintext!).equals(message)) failures.push(`${k.keyId}: round trip fails`);
          break;
        }
        case 'ecc': {
          const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: k.keyId })).PublicKey!), format: 'der', type: 'spki' });
          if (!nodeVerify('sha256', message, pub, Buffer.from(k.signature!))) failures.push(`${k.keyId}: old signature fails`);
          const sig = (await kms.sign({ KeyId: k.keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })).Signature!;
          if (!nodeVerify('sha256', message, pub, Buffer.from(sig))) failures.push(`${k.keyId}: new signature fails`);
          break;
        }
        case 'rsa': {
          const old = await kms.decrypt({ KeyId: k.keyId, CiphertextBlob: k.ciphertext!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
          if (!Buffer.from(old.Plaintext!).equals(message)) failures.push(`${k.keyId}: old RSA ciphertext decrypts wrong`);
          break;
        }
        case 'hmac': {
          const v = await kms.verifyMac({ KeyId: k.keyId, Message: message, Mac: k.mac!, MacAlgorithm: 'HMAC_SHA_256' });
          if (!v.MacValid) failures.push(`${k.keyId}: old MAC fails`);
          break;
        }
      }
    } catch (err) {
      failures.push(`${k.keyId} (${k.kind}): ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
  return failures;
}

/** Structural checks straight on the SQLite file: nothing half-present, file sound. */
export function storeProblems(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    const problems: string[] = [];
    const integrity = (db.prepare('PRAGMA integrity_check').pluck().all() as string[]).join('; ');
    if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);
    const fk = db.prepare('PRAGMA foreign_key_check').all();
    if (fk.length) problems.push(`foreign_key_check: ${JSON.stringify(fk)}`);
    const noMaterial = db
      .prepare(
        // A key waiting for its imported material (PendingImport) has none yet.
        `SELECT key_id FROM keys k WHERE key_state != 'PendingImport' AND (current_material_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM key_materials m WHERE m.key_id = k.key_id AND m.material_id = k.current_material_id))`,
      )
      .pluck()
      .all();
    if (noMaterial.length) problems.push(`keys without their current material: ${noMaterial.join(', ')}`);
    const orphans = db.prepare('SELECT key_id FROM key_materials m WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.key_id = m.key_id)').pluck().all();
    if (orphans.length) problems.push(`materials without a key record: ${orphans.join(', ')}`);
    const unwrapped = db.prepare('SELECT key_id FROM key_materials WHERE wrapped IS NULL AND token_ref IS NULL').pluck().all();
    if (unwrapped.length) problems.push(`materials with neither a wrapped blob nor a token reference: ${unwrapped.join(', ')}`);
    return problems;
  } finally {
    db.close();
  }
}
