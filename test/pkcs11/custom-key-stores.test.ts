// The token as an AWS_CLOUDHSM custom key store: DescribeCustomKeyStores, Connect and
// Disconnect, and CreateKey's choice between the token and software keys.
import { createPublicKey, verify } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { recordConnection } from '../../src/backends/connection-state.js';
import { Kms } from '../../src/index.js';
import { ekms } from '../cli/run.js';
import { cleanupLater, software, tempHome } from '../helpers/backends.js';
import { softhsmOptions } from '../helpers/softhsm.js';
import { backendOf, faultPlan, goodAndStalePin, openOnToken, rejects } from './helpers.js';

t.test('DescribeCustomKeyStores lists the token', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  tt.match(id, /^cks-[0-9a-f]{17}$/);
  const all = await kms.describeCustomKeyStores({});
  tt.equal(all.CustomKeyStores?.length, 1);
  const entry = all.CustomKeyStores![0]!;
  tt.equal(entry.CustomKeyStoreId, id);
  tt.equal(entry.CustomKeyStoreName, 'ekms-test');
  tt.equal(entry.ConnectionState, 'CONNECTED');
  tt.equal(entry.CustomKeyStoreType, 'AWS_CLOUDHSM');
  tt.ok(entry.CreationDate instanceof Date);
  tt.equal(all.Truncated, false);
  tt.same((await kms.describeCustomKeyStores({ CustomKeyStoreId: id })).CustomKeyStores, [entry]);
  tt.same((await kms.describeCustomKeyStores({ CustomKeyStoreName: 'ekms-test' })).CustomKeyStores, [entry]);
  await rejects(tt, kms.describeCustomKeyStores({ CustomKeyStoreId: 'cks-00000000000000000' }), 'CustomKeyStoreNotFoundException');
  await rejects(tt, kms.describeCustomKeyStores({ CustomKeyStoreName: 'other' }), 'CustomKeyStoreNotFoundException');

  // The same token seen from another store (and later) has the same id and creation date.
  const again = await openOnToken();
  tt.teardown(() => again.close());
  tt.equal(backendOf(again).customKeyStoreId, id);
});

t.test('without a token there are no custom key stores and no AWS_CLOUDHSM keys', async (tt) => {
  const kms = await software.open();
  tt.teardown(() => kms.close());
  tt.same((await kms.describeCustomKeyStores({})).CustomKeyStores, []);
  await rejects(tt, kms.createKey({ Origin: 'AWS_CLOUDHSM' }), 'UnsupportedOperationException');
  await rejects(tt, kms.createKey({ CustomKeyStoreId: 'cks-00000000000000000' }), 'CustomKeyStoreNotFoundException');
  // A store that does not exist is the answer, whatever Origin the key would have had in it.
  for (const Origin of ['AWS_KMS', 'EXTERNAL_KEY_STORE'] as const)
    await rejects(tt, kms.createKey({ CustomKeyStoreId: 'cks-00000000000000000', Origin, XksKeyId: Origin === 'EXTERNAL_KEY_STORE' ? 'abc' : undefined }), 'CustomKeyStoreNotFoundException');
  await rejects(tt, kms.connectCustomKeyStore({ CustomKeyStoreId: 'cks-00000000000000000' }), 'CustomKeyStoreNotFoundException');
});

t.test('CreateKey: default token, CustomKeyStoreId, AWS_CLOUDHSM, or software on request', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  const byDefault = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  tt.equal(byDefault.Origin, 'AWS_CLOUDHSM');
  tt.equal(byDefault.CustomKeyStoreId, id);
  const named = (await kms.createKey({ CustomKeyStoreId: id, Origin: 'AWS_CLOUDHSM' })).KeyMetadata!;
  tt.equal(named.CustomKeyStoreId, id);
  const described = (await kms.describeKey({ KeyId: named.KeyId! })).KeyMetadata!;
  tt.equal(described.Origin, 'AWS_CLOUDHSM');
  tt.equal(described.CustomKeyStoreId, id);
  const softwareKey = (await kms.createKey({ Origin: 'AWS_KMS' })).KeyMetadata!;
  tt.equal(softwareKey.Origin, 'AWS_KMS', 'an explicit AWS_KMS origin makes a software key');
  tt.equal(softwareKey.CustomKeyStoreId, undefined);
  tt.ok(kms.store.getMaterials(softwareKey.KeyId!)[0]?.wrapped, 'wrapped under the root key');
  await rejects(tt, kms.createKey({ CustomKeyStoreId: 'cks-11111111111111111' }), 'CustomKeyStoreNotFoundException');
  await rejects(tt, kms.createKey({ CustomKeyStoreId: 'cks-11111111111111111', Origin: 'EXTERNAL_KEY_STORE', XksKeyId: 'abc' }), 'CustomKeyStoreNotFoundException');
  await rejects(tt, kms.createKey({ CustomKeyStoreId: id, Origin: 'AWS_KMS' }), 'UnsupportedOperationException');
});

t.test('CreateKey: a multi-Region key is never in the custom key store, as in AWS', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  const message = 'You cannot create a multi-Region key in a custom key store.';
  await rejects(tt, kms.createKey({ CustomKeyStoreId: id, MultiRegion: true }), 'UnsupportedOperationException', message);
  await rejects(tt, kms.createKey({ Origin: 'AWS_CLOUDHSM', MultiRegion: true }), 'UnsupportedOperationException', message);
  await rejects(tt, kms.createKey({ CustomKeyStoreId: id, Origin: 'EXTERNAL', MultiRegion: true }), 'UnsupportedOperationException', message);
  // The token is this store's default: a multi-Region key is refused unless software material
  // is asked for, never made in software silently.
  await rejects(tt, kms.createKey({ MultiRegion: true }), 'UnsupportedOperationException', /set Origin to AWS_KMS/);
  const mrk = (await kms.createKey({ MultiRegion: true, Origin: 'AWS_KMS' })).KeyMetadata!;
  tt.equal(mrk.MultiRegion, true);
  tt.match(mrk.KeyId, /^mrk-/);
  tt.equal(mrk.Origin, 'AWS_KMS');
  tt.equal(mrk.CustomKeyStoreId, undefined);
  const { CiphertextBlob } = await kms.encrypt({ KeyId: mrk.KeyId!, Plaintext: Buffer.from('multi-Region') });
  tt.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: CiphertextBlob! })).Plaintext!).toString(), 'multi-Region');
});

t.test('Disconnect and Connect', async (tt) => {
  const kms = await openOnToken();
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  const made = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const key = made.KeyId!;
  const sign = () => kms.sign({ KeyId: key, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
  await sign();
  const disabled = (await kms.createKey({})).KeyMetadata!;
  await kms.disableKey({ KeyId: disabled.KeyId! });
  const doomed = (await kms.createKey({})).KeyMetadata!;
  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });
  const software = (await kms.createKey({ Origin: 'AWS_KMS' })).KeyMetadata!;
  const stateOf = async (keyId: string) => (await kms.describeKey({ KeyId: keyId })).KeyMetadata!;

  tt.same(await kms.connectCustomKeyStore({ CustomKeyStoreId: id }), {}, 'connecting a connected store is a no-op');
  tt.same(await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id }), {});
  tt.equal((await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState, 'DISCONNECTED');
  await rejects(tt, kms.disconnectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  // As in AWS: the store's keys are Unavailable (a key pending deletion stays so), and their
  // cryptographic use is refused for that state; they can still be described and managed.
  await rejects(tt, sign(), 'KMSInvalidStateException', `${made.Arn} is unavailable.`);
  await rejects(tt, kms.getPublicKey({ KeyId: key }), 'KMSInvalidStateException', `${made.Arn} is unavailable.`);
  await rejects(tt, kms.createKey({}), 'CustomKeyStoreInvalidStateException');
  // The model's CustomKeyStoreInvalidStateException names GenerateRandom in a store not connected.
  await rejects(tt, kms.generateRandom({ NumberOfBytes: 8, CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException', `Custom key store ${id} is not connected.`);
  tt.equal((await kms.generateRandom({ NumberOfBytes: 8 })).Plaintext!.length, 8, 'without the store: the software generator');
  tt.match(await stateOf(key), { KeyState: 'Unavailable', Enabled: false });
  tt.match(await stateOf(disabled.KeyId!), { KeyState: 'Unavailable', Enabled: false });
  tt.match(await stateOf(doomed.KeyId!), { KeyState: 'PendingDeletion' }, 'a key pending deletion stays PendingDeletion');
  tt.match(await stateOf(software.KeyId!), { KeyState: 'Enabled' }, 'a key outside the store is not affected');
  await kms.encrypt({ KeyId: software.KeyId!, Plaintext: Buffer.from('x') });
  await kms.updateKeyDescription({ KeyId: key, Description: 'managed while unavailable' });
  await kms.cancelKeyDeletion({ KeyId: doomed.KeyId! });
  tt.match(await stateOf(doomed.KeyId!), { KeyState: 'Unavailable' }, 'cancelled while disconnected: unavailable');
  // AWS's key-state table allows EnableKey and DisableKey on an unavailable key: the key has the
  // new state once its store is connected again.
  await kms.enableKey({ KeyId: disabled.KeyId! });
  tt.match(await stateOf(disabled.KeyId!), { KeyState: 'Unavailable' }, 'enabled while disconnected: still unavailable');

  tt.same(await kms.connectCustomKeyStore({ CustomKeyStoreId: id }), {});
  tt.equal((await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState, 'CONNECTED');
  // Reconnected: each key is back in the state it had (a cancelled deletion leaves it Disabled).
  tt.match(await stateOf(key), { KeyState: 'Enabled', Enabled: true, Description: 'managed while unavailable' });
  tt.match(await stateOf(disabled.KeyId!), { KeyState: 'Enabled' }, 'the EnableKey made while disconnected holds');
  tt.match(await stateOf(doomed.KeyId!), { KeyState: 'Disabled' });
  const { Signature } = await sign();
  const verified = await kms.verify({ KeyId: key, Message: Buffer.from('m'), Signature: Signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
  tt.equal(verified.SignatureValid, true, 'the key works again after reconnecting');
});

t.test('a rotation due while the store is disconnected waits for the connection; other calls go on', async (tt) => {
  const day = 86_400_000;
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const kms = await openOnToken({ clock: () => new Date(clock.now) });
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  const key = (await kms.createKey({})).KeyMetadata!;
  await kms.enableKeyRotation({ KeyId: key.KeyId!, RotationPeriodInDays: 90 });
  const software = (await kms.createKey({ Origin: 'AWS_KMS' })).KeyMetadata!;
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  clock.now += 181 * day; // two rotation dates
  // Before, every call tried the rotation first and failed with it, reconnecting included.
  await kms.encrypt({ KeyId: software.KeyId!, Plaintext: Buffer.from('x') });
  tt.match((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata, { KeyState: 'Unavailable' });
  tt.same((await kms.listKeyRotations({ KeyId: key.KeyId! })).Rotations, [], 'not rotated while disconnected');
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  const connectedAt = new Date(clock.now);
  clock.now += 1000;
  await kms.describeKey({ KeyId: key.KeyId! }); // the next call runs the rotation that waited
  const rotations = (await kms.listKeyRotations({ KeyId: key.KeyId! })).Rotations ?? [];
  tt.equal(rotations.length, 1, 'rotated once connected, not once per date it was unavailable through');
  tt.equal(rotations[0]?.RotationType, 'AUTOMATIC');
  tt.same(rotations[0]?.RotationDate, connectedAt, 'dated when it became usable again');
  tt.same((await kms.getKeyRotationStatus({ KeyId: key.KeyId! })).NextRotationDate, new Date(connectedAt.getTime() + 90 * day), 'and its period runs from there');
});

t.test('a connection that fails is FAILED, with its ConnectionErrorCode', async (tt) => {
  const fault = faultPlan('');
  const kms = await openOnToken({ pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  const id = backendOf(kms).customKeyStoreId;
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  // The module was released (finalised) by the disconnect; the next C_Initialize reads this plan.
  faultPlan('C_Login=CKR_PIN_LOCKED');
  tt.same(await kms.connectCustomKeyStore({ CustomKeyStoreId: id }), {}, 'as in AWS, the call itself succeeds');
  const entry = (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;
  tt.equal(entry.ConnectionState, 'FAILED');
  tt.equal(entry.ConnectionErrorCode, 'USER_LOCKED_OUT');
  await rejects(tt, kms.connectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  faultPlan('');
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal((await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState, 'CONNECTED');
});

t.test('the connection state is the key store\'s: other Kms on it, later opens and CLI commands follow it', async (tt) => {
  const home = tempHome('ekms-p11-connection-');
  cleanupLater(home);
  const open = () => Kms.open({ home, pkcs11: softhsmOptions() });
  const a = await open();
  const b = await open();
  const id = backendOf(a).customKeyStoreId;
  const made = (await a.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const message = Buffer.from('followed');
  const signWith = (kms: Kms) => kms.sign({ KeyId: made.KeyId!, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  await signWith(b);
  const stateIn = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState;

  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal(await stateIn(b), 'DISCONNECTED', 'another Kms on the store follows the disconnection');
  tt.match((await b.describeKey({ KeyId: made.KeyId! })).KeyMetadata, { KeyState: 'Unavailable', Enabled: false });
  await rejects(tt, signWith(b), 'KMSInvalidStateException', `${made.Arn} is unavailable.`);
  await rejects(tt, b.disconnectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  await b.close();

  const c = await open();
  tt.equal(await stateIn(c), 'DISCONNECTED', 'a later open starts disconnected');
  await rejects(tt, signWith(c), 'KMSInvalidStateException');
  const cli = async (...args: string[]) => {
    const r = await ekms([...args, '--home', home, '--output', 'text'], {}, (options) => Kms.open({ ...options, pkcs11: softhsmOptions() }));
    tt.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  tt.equal(await cli('describe-custom-key-stores', '--query', 'CustomKeyStores[0].ConnectionState'), 'DISCONNECTED', 'so does a CLI command');
  tt.equal(await cli('describe-key', '--key-id', made.KeyId!, '--query', 'KeyMetadata.KeyState'), 'Unavailable');

  await c.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal(await stateIn(a), 'CONNECTED', 'the Kms that disconnected follows the connection made elsewhere');
  const { Signature } = await signWith(a);
  const spki = (await c.getPublicKey({ KeyId: made.KeyId! })).PublicKey!;
  tt.ok(verify('sha256', message, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), Buffer.from(Signature!)), 'it signs again, checked by node:crypto');
  await a.close();
  await c.close();
  tt.equal(await cli('describe-custom-key-stores', '--query', 'CustomKeyStores[0].ConnectionState'), 'CONNECTED', 'and stays connected');

  // A store disconnected by a CLI command is disconnected for the next one.
  await cli('disconnect-custom-key-store', '--custom-key-store-id', id);
  tt.equal(await cli('describe-custom-key-stores', '--query', 'CustomKeyStores[0].ConnectionState'), 'DISCONNECTED');
  await cli('connect-custom-key-store', '--custom-key-store-id', id);
  tt.equal(await cli('describe-key', '--key-id', made.KeyId!, '--query', 'KeyMetadata.KeyState'), 'Enabled');
});

t.test('following the store: calls wait for the connection; a Connect in flight is not undone; rotations wait at open', async (tt) => {
  const day = 86_400_000;
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const home = tempHome('ekms-p11-follow-');
  cleanupLater(home);
  const open = () => Kms.open({ home, pkcs11: softhsmOptions(), clock: () => new Date(clock.now) });
  const a = await open();
  const b = await open();
  const id = backendOf(a).customKeyStoreId;
  const made = (await a.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const sign = (kms: Kms) => kms.sign({ KeyId: made.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
  const stateIn = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState;

  // Calls that start while b follows a connection made elsewhere wait for it.
  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal(await stateIn(b), 'DISCONNECTED');
  await a.connectCustomKeyStore({ CustomKeyStoreId: id });
  const outcomes = await Promise.allSettled([sign(b), sign(b), sign(b)]);
  tt.same(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'fulfilled'], 'three concurrent Signs right after the connection elsewhere');

  // b's own Connect is in flight when another connection writes: b does not follow the record
  // its Connect is about to remove.
  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal(await stateIn(b), 'DISCONNECTED');
  const connecting = b.connectCustomKeyStore({ CustomKeyStoreId: id });
  a.store.setMeta('unrelated-write', Buffer.from('x')); // at once, while b logs in
  const during = b.describeKey({ KeyId: made.KeyId! });
  await connecting;
  await during;
  tt.equal(await stateIn(b), 'CONNECTED', 'b connected, as its Connect said');
  tt.equal(await stateIn(a), 'CONNECTED', 'and a followed it');
  await sign(b);

  // A rotation due while the store is recorded disconnected waits at open too.
  await a.enableKeyRotation({ KeyId: (await a.createKey({})).KeyMetadata!.KeyId!, RotationPeriodInDays: 90 });
  const rotating = (await a.listKeys({})).Keys!.map((k) => k.KeyId!).find((k) => k !== made.KeyId)!;
  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await a.close();
  await b.close();
  clock.now += 91 * day;
  const c = await open();
  tt.equal(await stateIn(c), 'DISCONNECTED');
  tt.same((await c.listKeyRotations({ KeyId: rotating })).Rotations, [], 'not rotated at open while disconnected');
  await c.connectCustomKeyStore({ CustomKeyStoreId: id });
  await c.describeKey({ KeyId: rotating });
  tt.equal((await c.listKeyRotations({ KeyId: rotating })).Rotations!.length, 1, 'rotated once connected');
  await c.close();
});

t.test('a store whose custom key store is not connected opens without its token; Connect opens it', async (tt) => {
  // As in AWS, a disconnected custom key store takes only its own keys out of service: an
  // operator who disconnects it because the token is down (or its PIN changed) can restart the
  // service, and the software keys and the management of the rest go on.
  const home = tempHome('ekms-p11-detached-');
  cleanupLater(home);
  const good = softhsmOptions();
  const wrongPin = { ...good, pin: '9999' };
  const first = await Kms.open({ home, pkcs11: good });
  const id = backendOf(first).customKeyStoreId;
  const onToken = (await first.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const soft = (await first.createKey({ Origin: 'AWS_KMS' })).KeyMetadata!;
  const sealed = (await first.encrypt({ KeyId: soft.KeyId!, Plaintext: Buffer.from('still here') })).CiphertextBlob!;
  // Connected: a token that cannot be logged in to still refuses the open, as before.
  await rejects(tt, Kms.open({ home, pkcs11: wrongPin }), 'KeyStoreOpenError', /CKR_PIN_INCORRECT/);
  await first.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await first.close();
  // A configuration mistake is still refused: only the token's own refusals are waved through.
  await rejects(tt, Kms.open({ home, pkcs11: { module: good.module, tokenLabel: good.tokenLabel } }), 'KeyStoreOpenError', /no PKCS#11 user PIN/);

  const detached = await Kms.open({ home, pkcs11: wrongPin });
  const entry = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;
  tt.match(await entry(detached), { CustomKeyStoreId: id, CustomKeyStoreName: good.tokenLabel, ConnectionState: 'DISCONNECTED' });
  tt.equal(Buffer.from((await detached.decrypt({ CiphertextBlob: sealed })).Plaintext!).toString(), 'still here', 'software keys work');
  tt.equal((await detached.describeKey({ KeyId: onToken.KeyId! })).KeyMetadata!.KeyState, 'Unavailable');
  await rejects(tt, detached.sign({ KeyId: onToken.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidStateException');
  await rejects(tt, detached.createKey({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  // Connecting with the wrong PIN: FAILED, with the reason, and recorded for every process.
  tt.same(await detached.connectCustomKeyStore({ CustomKeyStoreId: id }), {});
  tt.match(await entry(detached), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
  await detached.close();
  const again = await Kms.open({ home, pkcs11: wrongPin });
  tt.match(await entry(again), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' }, 'a later open keeps FAILED');
  await again.close();

  // With the right PIN the token opens, and the store is still FAILED until it is disconnected.
  const fixed = await Kms.open({ home, pkcs11: good });
  tt.teardown(() => fixed.close());
  tt.match(await entry(fixed), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' });
  await rejects(tt, fixed.connectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException');
  await fixed.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  tt.match(await entry(fixed), { ConnectionState: 'DISCONNECTED' });
  tt.notOk('ConnectionErrorCode' in (await entry(fixed)), 'no error code once disconnected');
  await fixed.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal((await entry(fixed)).ConnectionState, 'CONNECTED');
  const message = Buffer.from('back');
  const { Signature } = await fixed.sign({ KeyId: onToken.KeyId!, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  const spki = (await fixed.getPublicKey({ KeyId: onToken.KeyId! })).PublicKey!;
  tt.ok(verify('sha256', message, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), Buffer.from(Signature!)), 'the token key signs again');
});

/** A home, and token options whose PIN is in a file the test can take away and put back. */
function withPinFile(prefix: string) {
  const home = tempHome(prefix);
  cleanupLater(home);
  const dir = tempHome(`${prefix}pin-`);
  cleanupLater(dir);
  const pinFile = join(dir, 'pin');
  const restorePin = () => writeFileSync(pinFile, softhsmOptions().pin!);
  restorePin();
  return { home, pinFile, restorePin, options: { module: softhsmOptions().module, tokenLabel: softhsmOptions().tokenLabel, pinFile } };
}

t.test('a store opened without its token connects once the token can be logged in to', async (tt) => {
  const { home, pinFile, restorePin, options } = withPinFile('ekms-p11-detached-connect-');
  const first = await Kms.open({ home, pkcs11: options });
  const id = backendOf(first).customKeyStoreId;
  const made = (await first.createKey({})).KeyMetadata!;
  await first.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await first.close();
  rmSync(pinFile); // the PIN file is gone while the store is disconnected
  const kms = await Kms.open({ home, pkcs11: options });
  tt.teardown(() => kms.close());
  restorePin(); // and back
  await kms.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal((await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState, 'CONNECTED');
  const sealed = await kms.encrypt({ KeyId: made.KeyId!, Plaintext: Buffer.from('x') });
  tt.equal(Buffer.from((await kms.decrypt({ CiphertextBlob: sealed.CiphertextBlob! })).Plaintext!).toString(), 'x', 'its keys work');
});

t.test('FAILED is the key store\'s: every Kms on it sees it, until a Disconnect', async (tt) => {
  const home = tempHome('ekms-p11-failed-');
  cleanupLater(home);
  const a = await Kms.open({ home, pkcs11: softhsmOptions() });
  tt.teardown(() => a.close());
  const id = backendOf(a).customKeyStoreId;
  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  const b = await Kms.open({ home, pkcs11: { ...softhsmOptions(), pin: '9999' } });
  tt.teardown(() => b.close());
  await b.connectCustomKeyStore({ CustomKeyStoreId: id }); // fails: FAILED
  const entry = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;
  tt.match(await entry(a), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' }, 'the other Kms follows FAILED');
  await rejects(tt, a.connectCustomKeyStore({ CustomKeyStoreId: id }), 'CustomKeyStoreInvalidStateException', /FAILED/);
  await a.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  tt.match(await entry(b), { ConnectionState: 'DISCONNECTED' }, 'and the Disconnect that clears it');
  await a.connectCustomKeyStore({ CustomKeyStoreId: id });
  tt.equal((await entry(a)).ConnectionState, 'CONNECTED');
});

t.test('a Disconnect while the store connects wins, detached or not; the store stays disconnected', async (tt) => {
  // AWS refuses a Disconnect only while DISCONNECTING or DISCONNECTED: one that comes while the
  // token is being opened or logged in to must leave the store disconnected once it returned.
  const { home, pinFile, restorePin, options } = withPinFile('ekms-p11-race-');
  const first = await Kms.open({ home, pkcs11: options });
  const id = backendOf(first).customKeyStoreId;
  const keyId = (await first.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!.KeyId!;
  await first.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await first.close();
  const state = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!.ConnectionState;
  for (const detached of [true, false]) {
    if (detached) rmSync(pinFile);
    const kms = await Kms.open({ home, pkcs11: options });
    if (detached) restorePin();
    const connecting = kms.connectCustomKeyStore({ CustomKeyStoreId: id });
    await new Promise((resolve) => setImmediate(resolve)); // the call has started; the login takes milliseconds
    tt.equal(await state(kms), 'CONNECTING', `${detached ? 'detached' : 'attached'}: connecting`);
    tt.same(await kms.disconnectCustomKeyStore({ CustomKeyStoreId: id }), {});
    tt.same(await connecting, {});
    tt.equal(await state(kms), 'DISCONNECTED', 'the Disconnect that returned stands');
    await rejects(tt, kms.sign({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidStateException');
    await kms.close();
    const next = await Kms.open({ home, pkcs11: options });
    tt.equal(await state(next), 'DISCONNECTED', 'and so the store records');
    await next.close();
  }
});

t.test('a store opens without its token only when every custom key store of that label is not connected', async (tt) => {
  // A token re-initialised under the same label is another custom key store: the old one's
  // records (disconnected) must not let a store whose current one is connected open without it.
  const home = tempHome('ekms-p11-labels-');
  cleanupLater(home);
  const kms = await Kms.open({ home, pkcs11: softhsmOptions() });
  const label = softhsmOptions().tokenLabel;
  const old = 'cks-0000000000000000a';
  kms.store.setMeta(`custom_key_store_created:${old}`, Buffer.from(new Date(0).toISOString()));
  kms.store.setMeta(`custom_key_store_label:${old}`, Buffer.from(label));
  kms.store.setMeta(`custom_key_store_disconnected:${old}`, Buffer.from(new Date(0).toISOString()));
  const id = backendOf(kms).customKeyStoreId;
  await kms.close();
  const wrongPin = { ...softhsmOptions(), pin: '9999' };
  await rejects(tt, Kms.open({ home, pkcs11: wrongPin }), 'KeyStoreOpenError', /CKR_PIN_INCORRECT/);
  // Once the current one is disconnected too, the store opens, as the most recent of them.
  const again = await Kms.open({ home, pkcs11: softhsmOptions() });
  await again.disconnectCustomKeyStore({ CustomKeyStoreId: id });
  await again.close();
  const detached = await Kms.open({ home, pkcs11: wrongPin });
  tt.teardown(() => detached.close());
  tt.match((await detached.describeCustomKeyStores({})).CustomKeyStores, [{ CustomKeyStoreId: id, ConnectionState: 'DISCONNECTED' }]);
});

t.test("a Connect that fails does not undo another process's Connect", async (tt) => {
  // Two processes connect at once, one with a stale PIN: the store is connected, and the failure
  // stays the failing process's own (its PIN file may be at fault).
  const { good, bad, id } = await goodAndStalePin(tt, 'ekms-p11-connect-race-');
  await good.connectCustomKeyStore({ CustomKeyStoreId: id });
  // `bad` started its Connect before it saw the store connected: its failure comes last.
  const backend = backendOf(bad);
  await backend.connect();
  tt.equal(backend.connectionState, 'FAILED');
  tt.equal(recordConnection(bad.store, id, { state: 'FAILED', code: 'INVALID_CREDENTIALS' }, new Date()), false, 'not recorded over CONNECTED');
  const entry = async (kms: Kms) => (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;
  tt.equal((await entry(good)).ConnectionState, 'CONNECTED', 'the store stays connected');
  tt.match(await entry(bad), { ConnectionState: 'FAILED', ConnectionErrorCode: 'INVALID_CREDENTIALS' }, 'the failure is its own');
});
