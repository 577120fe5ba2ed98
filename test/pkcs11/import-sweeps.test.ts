// The sweeps that destroy token objects of imports (backends/token-orphans.ts) against an import
// of the same material running at the worst moment. The material id is the same for every import
// of the same material, so the object a sweep judged unneeded may, by the time it is destroyed,
// be the one a new import just gave that name: the sweep must claim the object and check again
// before destroying it. The other process is played by a token whose first call runs a whole
// ImportKeyMaterial before the sweep's own call goes through.
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { destroyForgottenMaterial, noteTokenCreation, orphanGraceMs, sweepImportObjects, sweepTokenOrphans } from '../../src/backends/token-orphans.js';
import type { TokenBackend } from '../../src/backends/token.js';
import type { Kms } from '../../src/index.js';
import { forgetImportedMaterial } from '../../src/keys/import-keys.js';
import { ImportStore } from '../../src/keys/import-store.js';
import { importInto, openOutside, wrapMaterial } from '../import/helpers.js';
import { type Checks, backendOf, openOnToken, rejects } from './helpers.js';

const algorithm = 'RSAES_OAEP_SHA_1';

/**
 * The token as a sweep sees it, with `meanwhile` run to completion just before its first call
 * (listTokenRefs aside when `afterListing`: the sweep's own decision then comes in between).
 */
function racing(token: TokenBackend, meanwhile: () => Promise<unknown>, afterListing = false): { token: TokenBackend; ran: () => boolean } {
  let started: Promise<unknown> | undefined;
  const proxy = new Proxy(token, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (!(afterListing && prop === 'listTokenRefs')) await (started ??= meanwhile());
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { token: proxy, ran: () => started !== undefined };
}

const notes = (kms: Kms) => kms.store.db.prepare('SELECT material_id FROM token_creations').pluck().all() as string[];
const objectsOf = async (kms: Kms, keyId: string) => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${keyId}/`) && !r.includes('/import-'));

// One store for every test (each its own key): every store opened adds an exit listener.
let shared: Promise<Kms> | undefined;
t.teardown(async () => {
  if (shared) await (await shared).close();
});

async function newKey() {
  const kms = await (shared ??= openOnToken());
  const key = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!;
  return { kms, keyId: key.KeyId! };
}

/**
 * The material id the token gives `material` for this key, leaving no note and, unless `leave`,
 * no object; with `leave`, its object under its final name without a record, as a process that
 * died between renaming it and storing the record leaves it.
 */
async function materialIdOf(kms: Kms, keyId: string, material: Buffer, leave = false): Promise<string> {
  const params = await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' });
  const wrappingKeyId = kms.store.db.prepare('SELECT wrapping_key_id FROM import_parameters WHERE key_id = ? ORDER BY created_at DESC').pluck().get(keyId) as string;
  const backend = backendOf(kms);
  const pending = `${keyId}/pending-test`;
  const { materialId } = await backend.unwrapKeyMaterial(
    kms.store.getKey(keyId)!,
    `${keyId}/import-${wrappingKeyId}`,
    algorithm,
    pending,
    wrapMaterial(material, params.PublicKey!, algorithm),
  );
  if (leave) await backend.commitImported(pending, `${keyId}/${materialId}`);
  else await backend.destroyTokenRef(pending);
  return materialId;
}

async function works(tt: Checks, kms: Kms, keyId: string, material: Buffer) {
  const blob = (await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('n') })).CiphertextBlob!;
  tt.equal(openOutside(blob, material).plaintext.toString(), 'n', 'the key encrypts with the imported material');
}

for (const leftover of [false, true]) {
  const what = leftover ? 'its old object on the token' : 'nothing on the token';
  t.test(`the orphan sweep, judging an old note of a material id (${what}) while an import of it commits, destroys nothing of it`, async (tt) => {
    const { kms, keyId } = await newKey();
    const material = randomBytes(32);
    const materialId = await materialIdOf(kms, keyId, material, leftover);
    // What a failed import of the material left long ago: a note of the final name.
    const now = new Date();
    noteTokenCreation(kms.store, keyId, materialId, new Date(now.getTime() - orphanGraceMs - 60_000));
    // With an object on the token, the import runs once the sweep has judged it an orphan.
    const race = racing(backendOf(kms), () => importInto(kms, keyId, material, { algorithm }), leftover);
    await sweepTokenOrphans(kms.store, race.token, now);
    tt.ok(race.ran(), 'the import ran inside the sweep');
    tt.same(await objectsOf(kms, keyId), [`${keyId}/${materialId}`], 'the imported object is on the token, under its name');
    tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled');
    await works(tt, kms, keyId, material);
    tt.same(notes(kms), [], 'no notes left');
  });
}

t.test('an old note of a material id with nothing on the token is cleared', async (tt) => {
  const { kms, keyId } = await newKey();
  const material = randomBytes(32);
  const materialId = await materialIdOf(kms, keyId, material);
  const now = new Date();
  noteTokenCreation(kms.store, keyId, materialId, new Date(now.getTime() - orphanGraceMs - 60_000));
  tt.equal(await sweepTokenOrphans(kms.store, backendOf(kms), now), 0, 'nothing to destroy');
  tt.same(notes(kms), [], 'the note is gone');
  await importInto(kms, keyId, material, { algorithm });
  await works(tt, kms, keyId, material);
});

t.test('an old orphan under a material id with no import under way is destroyed, and leaves no claim behind', async (tt) => {
  const { kms, keyId } = await newKey();
  const material = randomBytes(32);
  const materialId = await materialIdOf(kms, keyId, material, true);
  const now = new Date();
  noteTokenCreation(kms.store, keyId, materialId, new Date(now.getTime() - orphanGraceMs - 60_000));
  tt.equal(await sweepTokenOrphans(kms.store, backendOf(kms), now), 1, 'one object destroyed');
  tt.same(await objectsOf(kms, keyId), [], 'the orphan is gone');
  tt.same(notes(kms), [], 'no notes left');
});

/** An imported material taken away while its object stays on the token (expiry, or a delete while the token was away). */
async function forgotten(kms: Kms, keyId: string, materialId: string) {
  const imports = new ImportStore(kms.store);
  kms.store.write(() => forgetImportedMaterial(kms.store, imports, keyId, materialId));
  kms.keys.invalidate(keyId, { wipe: true });
}

for (const [name, sweep] of [
  ['the expiry', (kms: Kms, token: TokenBackend, keyId: string, materialId: string) => destroyForgottenMaterial(kms.store, token, keyId, materialId, new Date())],
  ['the import sweep', (kms: Kms, token: TokenBackend) => sweepImportObjects(kms.store, token, new Date())],
] as const) {
  t.test(`${name}, destroying an expired material's object while the material is imported again, leaves the new import its object`, async (tt) => {
    const { kms, keyId } = await newKey();
    const material = randomBytes(32);
    const materialId = (await importInto(kms, keyId, material, { algorithm })).KeyMaterialId!;
    await forgotten(kms, keyId, materialId);
    tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'PendingImport');
    // The import runs once the sweep has judged the object unneeded (the import sweep lists first).
    const race = racing(backendOf(kms), () => importInto(kms, keyId, material, { algorithm }), true);
    await sweep(kms, race.token, keyId, materialId);
    tt.ok(race.ran(), 'the import ran inside the sweep');
    tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled');
    tt.same(await objectsOf(kms, keyId), [`${keyId}/${materialId}`], 'the object is on the token, under its name');
    await works(tt, kms, keyId, material);
    tt.same(notes(kms), [], 'no notes left');
  });

  t.test(`${name} destroys an expired material's object when nothing imports it`, async (tt) => {
    const { kms, keyId } = await newKey();
    const material = randomBytes(32);
    const materialId = (await importInto(kms, keyId, material, { algorithm })).KeyMaterialId!;
    await forgotten(kms, keyId, materialId);
    await sweep(kms, backendOf(kms), keyId, materialId);
    tt.same(await objectsOf(kms, keyId), [], 'the object is gone');
    tt.same(notes(kms), [], 'no notes left');
    await importInto(kms, keyId, material, { algorithm });
    await works(tt, kms, keyId, material);
  });
}

t.test('a claim whose process died is decided again by the orphan sweep: put back when the name is needed, destroyed otherwise', async (tt) => {
  const { kms, keyId } = await newKey();
  const backend = backendOf(kms);
  const material = randomBytes(32);
  const materialId = (await importInto(kms, keyId, material, { algorithm })).KeyMaterialId!;
  const now = new Date();
  const long = new Date(now.getTime() - orphanGraceMs - 60_000);
  // Claimed (renamed away) and noted, then the process died.
  const doomed = `doomed-0011223344556677-${materialId}`;
  noteTokenCreation(kms.store, keyId, doomed, long);
  await backend.commitImported(`${keyId}/${materialId}`, `${keyId}/${doomed}`);
  await sweepTokenOrphans(kms.store, backend, now);
  tt.same(await objectsOf(kms, keyId), [`${keyId}/${materialId}`], 'the record names it: it gets its name back');
  await works(tt, kms, keyId, material);
  tt.same(notes(kms), [], 'no notes left');

  await forgotten(kms, keyId, materialId);
  noteTokenCreation(kms.store, keyId, doomed, long);
  await backend.commitImported(`${keyId}/${materialId}`, `${keyId}/${doomed}`);
  tt.equal(await sweepTokenOrphans(kms.store, backend, now), 1);
  tt.same(await objectsOf(kms, keyId), [], 'nothing names it: destroyed');
  tt.same(notes(kms), [], 'no notes left');
});

t.test('GetParametersForImport refused by the token (OAEP with SHA-256 on SoftHSM2) leaves no note', async (tt) => {
  const { kms, keyId } = await newKey();
  await rejects(tt, kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'UnsupportedOperationException');
  tt.same(notes(kms), [], 'no note of the wrapping key');
  tt.same((await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${keyId}/`)), [], 'no object');
});

t.test("a deleted key's wrapping key pairs leave the token with it, not at the next open or import", async (tt) => {
  let now = Date.now();
  const kms = await openOnToken({ clock: () => new Date(now) });
  tt.teardown(() => kms.close());
  const keyId = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!.KeyId!;
  await kms.getParametersForImport({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' });
  const objects = async () => (await backendOf(kms).listTokenRefs()).filter((r) => r.startsWith(`${keyId}/import-`));
  tt.equal((await objects()).length, 1, 'the wrapping key is on the token');
  await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
  now += 8 * 24 * 3600 * 1000;
  await kms.listKeys({}); // the next call carries out the due deletion
  await rejects(tt, kms.describeKey({ KeyId: keyId }), 'NotFoundException');
  tt.same(await objects(), [], 'its wrapping key went with it');
});
