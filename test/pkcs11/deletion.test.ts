// Key deletion destroys the key's objects on the token once its deletion date has come.
import { execFileSync } from 'node:child_process';

import t from 'tap';

import { softhsmOptions } from '../helpers/softhsm.js';
import { backendOf, openOnToken } from './helpers.js';

t.test('a deleted token key leaves no object on the token', async (tt) => {
  let now = Date.now();
  const kms = await openOnToken({ clock: () => new Date(now) });
  tt.teardown(() => kms.close());
  const backend = backendOf(kms);
  const kept = (await kms.createKey({})).KeyMetadata!;
  const doomed = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const material = kms.store.getMaterials(doomed.KeyId!)[0]!;
  tt.ok((await backend.attributesOf(material)).found, 'the object exists');
  tt.equal((await backend.listTokenRefs()).length, 2);

  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });
  tt.ok((await backend.attributesOf(material)).found, 'still there while pending deletion');
  now += 8 * 86_400_000;
  await kms.describeKey({ KeyId: kept.KeyId! }); // any operation runs the due deletions first
  tt.notOk((await backend.attributesOf(material)).found, 'the private key object is destroyed');
  tt.same(await backend.listTokenRefs(), [`${kept.KeyId}/${kept.CurrentKeyMaterialId}`], 'only the kept key remains');
});

/** The id of the slot whose token has exactly this label, from `pkcs11-tool --list-token-slots`. */
function slotOf(module: string, tokenLabel: string): string {
  const listing = execFileSync('pkcs11-tool', ['--module', module, '--list-token-slots'], { encoding: 'utf8' });
  for (const block of listing.split(/^(?=Slot \d+ )/m)) {
    const id = /^Slot \d+ \((0x[0-9a-f]+)\)/.exec(block)?.[1];
    if (id && new RegExp(`^\\s*token label\\s*:\\s*${tokenLabel}\\s*$`, 'm').test(block)) return id;
  }
  throw new Error(`no slot has the token ${tokenLabel}:\n${listing}`);
}

t.test("a key whose objects were destroyed on the token behind the store's back: KMSInvalidStateException", async (tt) => {
  // As AWS answers for a custom key store key whose backing key is gone: the key's state does not
  // change, its cryptographic operations fail with KMSInvalidStateException, a client error that
  // SDKs do not retry (KeyUnavailableException, a server fault, would be retried to no end).
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const aes = (await kms.createKey({})).KeyMetadata!;
  const sign = () => kms.sign({ KeyId: signing.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
  const encrypt = () => kms.encrypt({ KeyId: aes.KeyId!, Plaintext: Buffer.from('p') });
  await sign();
  await encrypt(); // both keys' object handles are cached now
  // Another PKCS#11 application on the same token destroys the objects.
  const options = softhsmOptions();
  for (const [key, type] of [
    [signing, 'privkey'],
    [aes, 'secrkey'],
  ] as const) {
    // By CKA_LABEL (attributes.test.ts): pkcs11-tool takes no CKA_ID as long as ours. The token by
    // its slot: pkcs11-tool's --token-label takes the first label that begins so (`ekms-test-2`).
    const label = `ekms ${kms.store.storeId} ${key.KeyId}`;
    const args = ['--module', options.module, '--slot', slotOf(options.module, options.tokenLabel), '--login', '--pin', String(options.pin), '--delete-object', '--type', type, '--label', label];
    execFileSync('pkcs11-tool', args, { stdio: 'pipe' });
  }
  for (const [what, call, keyId] of [
    ['Sign', sign, signing.KeyId!],
    ['Encrypt', encrypt, aes.KeyId!],
  ] as const) {
    const err = (await call().then(
      () => undefined,
      (e: unknown) => e,
    )) as { name?: string; message?: string; $fault?: string } | undefined;
    tt.equal(err?.name, 'KMSInvalidStateException', `${what}: KMSInvalidStateException`);
    tt.equal(err?.$fault, 'client', `${what}: a client error, not retried`);
    tt.match(String(err?.message), keyId, `${what}: the message names the key`);
    tt.match(String(err?.message), options.tokenLabel, `${what}: and the token`);
    tt.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled', `${what}: the key's state does not change`);
  }
});
