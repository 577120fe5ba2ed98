// A restored store shares its token keys' objects with the store the backup came from. It destroys
// (or renames away) only the objects of the stores it owns: deleting keys, or an imported
// material, in a copy restored beside a live original leaves the original's keys working. A
// restore with adoptTokenObjects (disaster recovery: the backup's store is gone) owns that
// store's objects, not those of the stores in its history, and shreds deleted keys again; so does
// a restore over the home the backup came from (README, "Durability").
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { backupStore, restoreStore, type Kms } from '../../src/index.js';
import { tempHome } from '../helpers/backends.js';
import { softhsm } from '../helpers/softhsm.js';
import { collectWarnings, warningsOut } from '../helpers/warnings.js';
import { importInto, openOutside, sealOutside } from '../import/helpers.js';
import { backendOf } from '../pkcs11/helpers.js';
import { checkSampleKeys, makeSampleKeys, type SampleKey } from './helpers.js';

const day = 86_400_000;
const oaep = { algorithm: 'RSAES_OAEP_SHA_1' } as const; // SoftHSM2 2.6.1 unwraps with OAEP-SHA-1 only

/** Opens `home` on the token with a clock that `later()` moves past every pending deletion. */
async function openWithClock(home: string): Promise<{ kms: Kms; later: () => void }> {
  let now = Date.now();
  const kms = await softhsm.open({ home, clock: () => new Date(now) });
  return { kms, later: () => (now += 8 * day) };
}

/** Schedules the keys' deletion, moves the clock past it and lets the deletion sweep run. */
async function deleteKeys(tt: Pick<typeof t, 'rejects'>, store: { kms: Kms; later: () => void }, keyIds: readonly string[]): Promise<void> {
  for (const KeyId of keyIds) await store.kms.scheduleKeyDeletion({ KeyId, PendingWindowInDays: 7 });
  store.later();
  for (const KeyId of keyIds) await tt.rejects(store.kms.describeKey({ KeyId }), { name: 'NotFoundException' }, 'deleted');
}

/** A store on the token with sample keys, and a backup of it. */
async function storeWithBackup(): Promise<{ home: string; original: { kms: Kms; later: () => void }; keys: SampleKey[]; file: string }> {
  const home = tempHome();
  const original = await openWithClock(home);
  const keys = await makeSampleKeys(original.kms);
  return { home, original, keys, file: await backupOf(original.kms) };
}

/** A backup of `kms`, in a new file. */
async function backupOf(kms: Kms): Promise<string> {
  const file = join(tempHome(), 'store.backup');
  await backupStore(kms, file);
  return file;
}

/** The backup `file` of the store in `home`, restored into a new home beside it, and opened. */
async function restoredCopy(home: string, file: string): Promise<{ kms: Kms; later: () => void }> {
  const copyHome = join(tempHome(), 'copy');
  await restoreStore(copyHome, file, { rootKeyFile: join(home, 'root.key') });
  return openWithClock(copyHome);
}

async function useFails(kms: Kms, key: SampleKey): Promise<string | undefined> {
  const failures = await checkSampleKeys(kms, [key]);
  return failures.length === 1 && / KMSInvalidStateException: /.test(failures[0]!) ? undefined : `expected KMSInvalidStateException, got ${JSON.stringify(failures)}`;
}

t.test("deleting token keys in a copy restored beside the original leaves the original's keys working", async (t) => {
  const { home, original, keys, file } = await storeWithBackup();

  const target = join(tempHome(), 'copy');
  const result = await restoreStore(target, file, { rootKeyFile: join(home, 'root.key') });
  t.equal(result.tokenKeys, keys.length, 'the restore counts the token keys');
  t.same(result.storesNotOwned, [original.kms.store.storeId], "and says the original's objects are not the copy's");
  const copy = await openWithClock(target);
  t.same(await checkSampleKeys(copy.kms, keys), [], 'the copy uses the shared objects');
  const warnings: string[] = [];
  const onWarning = (w: Error) => void (w.name === 'EmbeddedKmsWarning' && warnings.push(w.message));
  process.on('warning', onWarning);
  await deleteKeys(t, copy, keys.map((k) => k.keyId));
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  t.equal(warnings.filter((w) => /is deleted, but its objects on PKCS#11 token .* stay: another store made them/.test(w)).length, keys.length, 'each deletion says, once per key, that its objects stay');
  t.same(await checkSampleKeys(original.kms, keys), [], "every key of the original still works: its objects are on the token");

  // The original owns them: its deletions destroy them.
  await deleteKeys(t, original, [keys[0]!.keyId]);
  t.same(
    (await backendOf(original.kms).listTokenRefs()).filter((ref) => ref.startsWith(`${keys[0]!.keyId}/`)),
    [],
    "the original's deletion destroyed the key's objects",
  );
  await copy.kms.close();
  await original.kms.close();
});

/** An EXTERNAL key on the token of `kms`, and the material `material` imported into it. */
async function importedKey(kms: Kms, material: Buffer): Promise<{ keyId: string; materialId: string }> {
  const keyId = (await kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(kms).customKeyStoreId })).KeyMetadata!.KeyId!;
  const materialId = (await importInto(kms, keyId, material, oaep)).KeyMaterialId!;
  return { keyId, materialId };
}

async function decrypts(kms: Kms, blob: Buffer): Promise<boolean> {
  return Buffer.from((await kms.decrypt({ CiphertextBlob: blob })).Plaintext!).equals(Buffer.from('m'));
}

t.test("an imported material deleted in a restored copy stays the original's, whichever store imported it first", async (t) => {
  const home = tempHome();
  const original = await openWithClock(home);
  const material = randomBytes(32);
  const { keyId, materialId } = await importedKey(original.kms, material);
  // A second key, its material imported only after the backup, into the copy first.
  const later = (await original.kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(original.kms).customKeyStoreId })).KeyMetadata!.KeyId!;
  const file = await backupOf(original.kms);

  const target = join(tempHome(), 'copy');
  t.equal((await restoreStore(target, file, { rootKeyFile: join(home, 'root.key') })).tokenKeys, 1);
  const copy = await openWithClock(target);
  const warned = collectWarnings(t);
  await copy.kms.deleteImportedKeyMaterial({ KeyId: keyId });
  t.equal((await copy.kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'PendingImport', 'the copy no longer has the material');
  await warningsOut();
  t.same(warned.splice(0), [materialStays(materialId, keyId)], "the deletion says the original's object stays");

  const blob = sealOutside(keyId, materialId, material, Buffer.from('m'));
  t.ok(await decrypts(original.kms, blob), 'the original still decrypts with it');
  const sealed = (await original.kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('n') })).CiphertextBlob!;
  t.equal(openOutside(sealed, material).plaintext.toString(), 'n', 'and encrypts');

  // Imported again in the copy, then deleted there once more.
  await importInto(copy.kms, keyId, material, oaep);
  t.ok(await decrypts(copy.kms, blob), 'the copy decrypts after importing it again');
  await copy.kms.deleteImportedKeyMaterial({ KeyId: keyId });
  t.ok(await decrypts(original.kms, blob), 'the original still decrypts');
  await warningsOut();
  t.same(warned.splice(0), [materialStays(materialId, keyId)], "the copy destroyed its own object; the original's stays, and it says so");

  // The copy imports first, the original second: the original must not come to rely on the copy's object.
  const second = randomBytes(32);
  const secondId = (await importInto(copy.kms, later, second, oaep)).KeyMaterialId!;
  t.equal((await importInto(original.kms, later, second, oaep)).KeyMaterialId, secondId, 'the same material, the same id');
  await copy.kms.deleteImportedKeyMaterial({ KeyId: later });
  t.ok(await decrypts(original.kms, sealOutside(later, secondId, second, Buffer.from('m'))), "the original decrypts after the copy deleted its import");
  await warningsOut();
  t.same(warned.splice(0), [materialStays(secondId, later)]);

  // The original's own deletions leave nothing of another store's behind: no warning.
  await original.kms.deleteImportedKeyMaterial({ KeyId: keyId });
  await original.kms.deleteImportedKeyMaterial({ KeyId: later });
  await warningsOut();
  t.same(warned, [], 'the original deleted the last objects of its materials: nothing to say');
  await copy.kms.close();
  await original.kms.close();
});

t.test("imported material that expires in a restored copy leaves the original's object, and says so", async (t) => {
  const home = tempHome();
  const original = await openWithClock(home);
  const material = randomBytes(32);
  const keyId = (await original.kms.createKey({ Origin: 'EXTERNAL', CustomKeyStoreId: backendOf(original.kms).customKeyStoreId })).KeyMetadata!.KeyId!;
  const materialId = (await importInto(original.kms, keyId, material, { ...oaep, validTo: new Date(Date.now() + 2 * day) })).KeyMaterialId!;
  const copy = await restoredCopy(home, await backupOf(original.kms));
  const warned = collectWarnings(t);
  copy.later(); // past ValidTo in the copy only
  t.equal((await copy.kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'PendingImport', 'the material expired in the copy');
  await copy.kms.importExpiry.settled(); // the expiry destroys in the background
  await new Promise((resolve) => setImmediate(resolve)); // and process.emitWarning delivers on the next tick
  t.same(warned, [materialStays(materialId, keyId)], "the expiry says the original's object stays");
  t.ok(await decrypts(original.kms, sealOutside(keyId, materialId, material, Buffer.from('m'))), 'and the original still decrypts with it');
  await copy.kms.close();
  await original.kms.close();
});

/** What a deletion of an imported material says when another store's object of it stays. */
function materialStays(materialId: string, keyId: string): string {
  return `embedded-kms: key material ${materialId} of key ${keyId} is deleted, but its objects on PKCS#11 token 'ekms-test' stay: another store made them (the one this store was restored from, or a copy of it) and may still use them. ekms restore --adopt-token-objects or --adopt-store-ids makes a restored store their owner.`;
}

t.test('a restore with adoptTokenObjects owns the objects: its deletions destroy them', async (t) => {
  const { home, original, keys, file } = await storeWithBackup();

  const target = join(tempHome(), 'recovered');
  const result = await restoreStore(target, file, { rootKeyFile: join(home, 'root.key'), adoptTokenObjects: true });
  t.same(result.storesNotOwned, [], 'it owns the backup store\'s objects');
  const recovered = await openWithClock(target);
  const [gone, ...kept] = keys;
  await deleteKeys(t, recovered, [gone!.keyId]);
  t.equal(await useFails(original.kms, gone!), undefined, "the deleted key's objects are gone from the token");
  t.same(await checkSampleKeys(original.kms, kept), [], 'the other keys work');

  // A copy of the recovered store, restored beside it, owns nothing of either.
  const second = await backupOf(recovered.kms);
  const copyHome = join(tempHome(), 'copy-of-recovered');
  t.same((await restoreStore(copyHome, second, { rootKeyFile: join(home, 'root.key') })).storesNotOwned.sort(), [original.kms.store.storeId, recovered.kms.store.storeId].sort());
  const copy = await openWithClock(copyHome);
  await deleteKeys(t, copy, [kept[0]!.keyId]);
  t.same(await checkSampleKeys(recovered.kms, kept), [], 'the recovered store keeps every key');
  await copy.kms.close();
  await recovered.kms.close();
  await original.kms.close();
});

t.test("adopting a copy's backup takes over the copy's objects, never its original's", async (t) => {
  const { home, original, keys, file } = await storeWithBackup();
  const copy = await restoredCopy(home, file);
  const own = (await copy.kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const copyBackup = await backupOf(copy.kms);

  const target = join(tempHome(), 'recovered-copy');
  const result = await restoreStore(target, copyBackup, { rootKeyFile: join(home, 'root.key'), adoptTokenObjects: true });
  t.same(result.storesNotOwned, [original.kms.store.storeId], 'the original stays its own owner');
  const recovered = await openWithClock(target);
  await deleteKeys(t, recovered, [...keys.map((k) => k.keyId), own]);
  t.same(await checkSampleKeys(original.kms, keys), [], "every key of the original works");
  t.ok((await copy.kms.sign({ KeyId: own, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }).catch((e: Error) => e)) instanceof Error, "the copy's own key, adopted, was destroyed");
  await recovered.kms.close();
  await copy.kms.close();
  await original.kms.close();
});

t.test('adoptStoreIds takes over named stores of the backup\'s history, and refuses any other id', async (t) => {
  const { home, original, keys, file } = await storeWithBackup();
  const copy = await restoredCopy(home, file);
  const copyBackup = await backupOf(copy.kms);
  await copy.kms.close();

  const target = join(tempHome(), 'recovered');
  const rootKeyFile = join(home, 'root.key');
  await t.rejects(restoreStore(target, copyBackup, { rootKeyFile, adoptStoreIds: ['not-a-store'] }), /not-a-store is not in this backup's history.*Nothing was changed/);
  t.same(
    ['root.key', 'store.sqlite3'].filter((f) => existsSync(join(target, f))),
    [],
    'and nothing was made in the new home',
  );
  const result = await restoreStore(target, copyBackup, { rootKeyFile, adoptTokenObjects: true, adoptStoreIds: [original.kms.store.storeId] });
  t.same(result.storesNotOwned, [], 'it owns every store of the lineage');
  const recovered = await openWithClock(target);
  await deleteKeys(t, recovered, [keys[0]!.keyId]);
  t.equal(await useFails(original.kms, keys[0]!), undefined, "the named original's objects were destroyed with the key");
  await recovered.kms.close();
  await original.kms.close();
});

t.test('a restore over the home the backup came from keeps owning its objects', async (t) => {
  const { home, original: first, keys, file } = await storeWithBackup();
  // A copy beside it, to tell whether the objects are destroyed.
  const copyHome = join(tempHome(), 'copy');
  await restoreStore(copyHome, file, { rootKeyFile: join(home, 'root.key') });
  await first.kms.close();

  const result = await restoreStore(home, file, { replace: true });
  t.same(result.storesNotOwned, [], 'the store it replaced owned them, so it does');
  const rolledBack = await openWithClock(home);
  t.ok((await backendOf(rolledBack.kms).listTokenRefs()).some((ref) => ref.startsWith(`${keys[1]!.keyId}/`)), "its sweeps see the objects as its own");
  await deleteKeys(t, rolledBack, [keys[0]!.keyId]);
  const copy = await softhsm.open({ home: copyHome });
  t.equal(await useFails(copy, keys[0]!), undefined, 'its deletion destroyed the objects');
  t.same(await checkSampleKeys(copy, keys.slice(1)), [], 'and no others');
  await copy.close();
  await rolledBack.kms.close();
});

t.test('a store left open while its home is restored in place follows the restored id and owners', async (t) => {
  const { home, original: open, file } = await storeWithBackup();
  const result = await restoreStore(home, file, { replace: true });
  const other = await openWithClock(home);
  t.equal(other.kms.store.storeId, result.storeId);
  const made = (await other.kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  t.ok((await backendOf(other.kms).listTokenRefs()).some((ref) => ref.startsWith(`${made}/`)), 'a key made after the restore');
  await deleteKeys(t, open, [made]);
  t.same(
    (await backendOf(other.kms).listTokenRefs()).filter((ref) => ref.startsWith(`${made}/`)),
    [],
    'deleted by the store opened before the restore, its objects are destroyed',
  );
  const later = (await open.kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  const attributes = await backendOf(open.kms).attributesOf(open.kms.keys.resolve(later).material());
  t.equal(attributes.label, `ekms ${result.storeId} ${later}`, 'and its new objects carry the restored id');
  await other.kms.close();
  await open.kms.close();
});
