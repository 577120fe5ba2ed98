// Two imports of the same material, or an import and DeleteImportedKeyMaterial, interleaved in
// one process at the worst moment: right after the import's commitImported found the object of
// its material id already on the token and kept it (returned false), before its record is stored.
// The other operation is run from a one-shot hook on the backend's commitImported.
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { destroyForgottenMaterial } from '../../src/backends/token-orphans.js';
import type { Pkcs11Backend } from '../../src/backends/pkcs11.js';
import type { Kms } from '../../src/index.js';
import { forgetImportedMaterial } from '../../src/keys/import-keys.js';
import { ImportStore } from '../../src/keys/import-store.js';
import { importInto, openOutside } from '../import/helpers.js';
import { type Checks, backendOf, openOnToken } from './helpers.js';

const algorithm = 'RSAES_OAEP_SHA_1';

/** The next commitImported runs `before` first and `after` (with its result) before it returns. */
function aroundNextCommit(backend: Pkcs11Backend, before: () => Promise<unknown>, after: (kept: boolean) => Promise<unknown>): () => boolean {
  let ran = false;
  const original = backend.commitImported;
  backend.commitImported = async (pendingRef: string, finalRef: string) => {
    delete (backend as { commitImported?: unknown }).commitImported; // one shot: the prototype's again
    ran = true;
    await before();
    const renamed = await original.call(backend, pendingRef, finalRef);
    await after(renamed);
    return renamed;
  };
  return () => ran;
}

const notes = (kms: Kms) => kms.store.db.prepare('SELECT material_id FROM token_creations').pluck().all() as string[];
const objectsOf = async (kms: Kms, keyId: string) => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${keyId}/`) && !r.includes('/import-'));

async function works(tt: Checks, kms: Kms, keyId: string, material: Buffer) {
  const blob = (await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('n') })).CiphertextBlob!;
  tt.equal(openOutside(blob, material).plaintext.toString(), 'n', 'the key encrypts with the imported material');
}

async function newKey(tt: Checks) {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  return { kms, keyId: key.KeyId! };
}

t.test('DeleteImportedKeyMaterial while a reimport of the material has kept its object: the reimport keeps a usable object', async (tt) => {
  const { kms, keyId } = await newKey(tt);
  const material = randomBytes(32);
  const materialId = (await importInto(kms, keyId, material, { algorithm })).KeyMaterialId!;
  const ran = aroundNextCommit(
    backendOf(kms),
    async () => undefined,
    async (renamed) => {
      tt.equal(renamed, false, 'the reimport kept the object already on the token');
      await kms.deleteImportedKeyMaterial({ KeyId: keyId });
    },
  );
  tt.equal((await importInto(kms, keyId, material, { algorithm })).KeyMaterialId, materialId);
  tt.ok(ran(), 'the delete ran inside the reimport');
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled', 'the reimport came last');
  tt.same(await objectsOf(kms, keyId), [`${keyId}/${materialId}`], 'the object its record names is on the token');
  await works(tt, kms, keyId, material);
  tt.same(notes(kms), [], 'no notes left');
});

t.test('DeleteImportedKeyMaterial with no import under way still destroys the object', async (tt) => {
  const { kms, keyId } = await newKey(tt);
  const material = randomBytes(32);
  await importInto(kms, keyId, material, { algorithm });
  await kms.deleteImportedKeyMaterial({ KeyId: keyId });
  tt.same(await objectsOf(kms, keyId), [], 'the object is gone');
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'PendingImport');
  tt.same(notes(kms), [], 'no notes left');
  await importInto(kms, keyId, material, { algorithm });
  await works(tt, kms, keyId, material);
});

t.test('an import finishing first does not clear the note of another import of the same material still under way', async (tt) => {
  const { kms, keyId } = await newKey(tt);
  const material = randomBytes(32);
  let materialId = '';
  const ran = aroundNextCommit(
    backendOf(kms),
    // Import A runs whole between import B's note of the material id and B's rename.
    async () => {
      materialId = (await importInto(kms, keyId, material, { algorithm })).KeyMaterialId!;
    },
    // B kept A's object; before B stores its record the material expires, and its object is
    // destroyed unless an import of it is noted.
    async (renamed) => {
      tt.equal(renamed, false, 'import B kept the object of import A');
      kms.store.write(() => forgetImportedMaterial(kms.store, new ImportStore(kms.store), keyId, materialId));
      kms.keys.invalidate(keyId, { wipe: true });
      await destroyForgottenMaterial(kms.store, backendOf(kms), keyId, materialId, new Date());
    },
  );
  await importInto(kms, keyId, material, { algorithm });
  tt.ok(ran(), 'import A and the expiry ran inside import B');
  tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled', 'import B came last');
  tt.same(await objectsOf(kms, keyId), [`${keyId}/${materialId}`], 'the object its record names is on the token');
  await works(tt, kms, keyId, material);
  tt.same(notes(kms), [], 'no notes left');
});
