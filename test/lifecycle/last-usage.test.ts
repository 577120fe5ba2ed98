// GetKeyLastUsage: each key's last successful cryptographic operation, with the CloudTrail event
// id of that call's audit line and its request id; kept across closes and processes, and read
// by the library, the endpoint (through @aws-sdk/client-kms) and the CLI.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateKeyCommand, EncryptCommand, GetKeyLastUsageCommand, KMSClient } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { KeyUsageTracker } from '../../src/keys/last-usage.js';
import type { Kms } from '../../src/index.js';
import { ekms } from '../cli/run.js';
import { tempHome } from '../helpers/backends.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;
const start = Date.parse('2030-01-01T00:00:00Z');
const day = 86_400_000;

/** The audit line of the last call named `eventName`. */
function lastAuditEvent(kms: Kms, eventName: string): { eventID: string; requestID: string } {
  const lines = readFileSync(kms.audit!.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { eventName: string; eventID: string; requestID: string });
  return lines.filter((e) => e.eventName === eventName).at(-1)!;
}

eachBackend('GetKeyLastUsage reports the last successful cryptographic operation', async (t: Test, _kms, backend) => {
  const home = tempHome();
  const clock = { now: start };
  let kms = await backend.open({ home, clock: () => new Date(clock.now) });
  const md = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const fresh = await kms.getKeyLastUsage({ KeyId: md.KeyId! });
  t.same(fresh, { KeyId: md.KeyId, KeyLastUsage: {}, TrackingStartDate: md.CreationDate, KeyCreationDate: md.CreationDate }, 'never used: empty');

  clock.now += 60_000;
  const message = Buffer.from('tracked');
  const { Signature } = await kms.sign({ KeyId: md.Arn!, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  await kms.audit!.flush();
  const signEvent = lastAuditEvent(kms, 'Sign');
  const afterSign = await kms.getKeyLastUsage({ KeyId: md.Arn! });
  t.same(afterSign.KeyLastUsage, { Operation: 'Sign', Timestamp: new Date(clock.now), CloudTrailEventId: signEvent.eventID, KmsRequestId: signEvent.requestID });

  // Failed calls and dry runs are not uses; a successful Verify is.
  clock.now += 60_000;
  const bad = Buffer.from(Signature!);
  bad[bad.length - 1] ^= 1;
  await rejectsAws(t, kms.verify({ KeyId: md.KeyId!, Message: message, Signature: bad, SigningAlgorithm: 'ECDSA_SHA_256' }), 'KMSInvalidSignatureException');
  await rejectsAws(t, kms.sign({ KeyId: md.KeyId!, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }), 'DryRunOperationException');
  t.same((await kms.getKeyLastUsage({ KeyId: md.KeyId! })).KeyLastUsage, afterSign.KeyLastUsage, 'unchanged by a failure or a dry run');
  await kms.verify({ KeyId: md.KeyId!, Message: message, Signature: Signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
  t.same((await kms.getKeyLastUsage({ KeyId: md.KeyId! })).KeyLastUsage?.Timestamp, new Date(clock.now));

  // Key management is not a cryptographic use.
  await kms.updateKeyDescription({ KeyId: md.KeyId!, Description: 'changed' });
  await kms.describeKey({ KeyId: md.KeyId! });
  t.equal((await kms.getKeyLastUsage({ KeyId: md.KeyId! })).KeyLastUsage?.Operation, 'Verify');

  // Kept across a close, and seen by the next Kms on the store.
  await kms.close();
  kms = await backend.open({ home, clock: () => new Date(clock.now) });
  t.teardown(() => kms.close());
  t.same((await kms.getKeyLastUsage({ KeyId: md.KeyId! })).KeyLastUsage?.Operation, 'Verify', 'kept across a close');

  // Alias names are not supported (AWS), and unknown keys are not found.
  await kms.createAlias({ AliasName: 'alias/used', TargetKeyId: md.KeyId! });
  await rejectsAws(t, kms.getKeyLastUsage({ KeyId: 'alias/used' }), 'InvalidArnException', 'Key Aliases are not supported for this operation.');
  await rejectsAws(t, kms.getKeyLastUsage({ KeyId: kms.arns.alias('alias/used') }), 'InvalidArnException');
  await rejectsAws(t, kms.getKeyLastUsage({ KeyId: '00000000-0000-4000-8000-000000000000' }), 'NotFoundException');
  // Any key state: a key pending deletion still reports its usage.
  await kms.scheduleKeyDeletion({ KeyId: md.KeyId!, PendingWindowInDays: 7 });
  t.equal((await kms.getKeyLastUsage({ KeyId: md.KeyId! })).KeyLastUsage?.Operation, 'Verify');
});

eachBackend('ReEncrypt is recorded for both keys; GenerateRandom for none', async (t: Test, kms) => {
  const a = (await kms.createKey({})).KeyMetadata!;
  const b = (await kms.createKey({})).KeyMetadata!;
  const { CiphertextBlob } = await kms.encrypt({ KeyId: a.KeyId!, Plaintext: Buffer.from('x') });
  t.equal((await kms.getKeyLastUsage({ KeyId: a.KeyId! })).KeyLastUsage?.Operation, 'Encrypt');
  await kms.reEncrypt({ CiphertextBlob: CiphertextBlob!, DestinationKeyId: b.KeyId! });
  const [ua, ub] = [(await kms.getKeyLastUsage({ KeyId: a.KeyId! })).KeyLastUsage!, (await kms.getKeyLastUsage({ KeyId: b.KeyId! })).KeyLastUsage!];
  t.equal(ua.Operation, 'ReEncrypt');
  t.same(ub, ua, 'the same call, event and request for both keys');
  await kms.generateDataKey({ KeyId: b.KeyId!, KeySpec: 'AES_256' });
  t.equal((await kms.getKeyLastUsage({ KeyId: b.KeyId! })).KeyLastUsage?.Operation, 'GenerateDataKey');
  await kms.generateRandom({ NumberOfBytes: 8 });
  t.equal((await kms.getKeyLastUsage({ KeyId: b.KeyId! })).KeyLastUsage?.Operation, 'GenerateDataKey');
});

t.test('of two uses noted out of order, the later one is kept', async (t) => {
  const { KeyUsageTracker } = await import('../../src/keys/last-usage.js');
  const usage = new KeyUsageTracker(join(tempHome(), 'key-usage.sqlite3'), new Date(start), 'store-a');
  t.teardown(() => usage.close());
  const arn = 'arn:aws:kms:us-east-1:111122223333:key/8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11';
  usage.note('Sign', { KeyId: arn }, new Date(start + 2000), 'e-late', 'r-late');
  usage.note('Verify', { KeyId: arn }, new Date(start + 1000), 'e-early', 'r-early'); // began earlier, ended later
  t.equal(usage.lastUsage('8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11')?.eventId, 'e-late');
  usage.note('Verify', { KeyId: arn }, new Date(start + 1500), 'e-written-late', 'r');
  t.equal(usage.lastUsage('8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11')?.eventId, 'e-late', 'and in the file: the later use stays');
});

t.test('a store made anew in the same home does not inherit the usage of the old one', async (t) => {
  const { KeyUsageTracker } = await import('../../src/keys/last-usage.js');
  const path = join(tempHome(), 'key-usage.sqlite3');
  const arn = 'arn:aws:kms:us-east-1:111122223333:key/8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11';
  let usage = new KeyUsageTracker(path, new Date(start), 'store-a');
  usage.note('Sign', { KeyId: arn }, new Date(start + 1000), 'e', 'r');
  usage.close();
  usage = new KeyUsageTracker(path, new Date(start + day), 'store-a');
  t.equal(usage.lastUsage('8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11')?.eventId, 'e', 'the same store keeps its usage');
  t.equal(usage.trackingStart, start);
  usage.close();
  usage = new KeyUsageTracker(path, new Date(start + 2 * day), 'store-b');
  t.teardown(() => usage.close());
  t.equal(usage.lastUsage('8f0ab5ba-1bd6-4b3c-9a3e-2f1a0c0b9d11'), undefined, 'another store starts afresh');
  t.equal(usage.trackingStart, start + 2 * day);
});

t.test('a store tracked from a later date: TrackingStartDate is that date', async (t) => {
  const home = tempHome();
  const clock = { now: start };
  const open = () => import('../../src/index.js').then(({ Kms }) => Kms.open({ home, clock: () => new Date(clock.now) }));
  let kms = await open();
  const md = (await kms.createKey({})).KeyMetadata!;
  await kms.close();
  // As a store made before tracking existed: no usage file; it begins when the store is next opened.
  rmSync(join(home, 'key-usage.sqlite3'));
  clock.now += 3 * day;
  kms = await open();
  t.teardown(() => kms.close());
  const out = await kms.getKeyLastUsage({ KeyId: md.KeyId! });
  t.same(out.TrackingStartDate, new Date(start + 3 * day));
  t.same(out.KeyCreationDate, new Date(start));
  t.same(out.KeyLastUsage, {});
});

t.test('a usage file that cannot be read does not stop the store from opening', async (t) => {
  const home = tempHome();
  const { Kms } = await import('../../src/index.js');
  let kms = await Kms.open({ home });
  const key = (await kms.createKey({})).KeyMetadata!;
  await kms.close();
  writeFileSync(join(home, 'key-usage.sqlite3'), Buffer.alloc(8192, 0x5a)); // not a database
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') });
  t.equal((await kms.getKeyLastUsage({ KeyId: key.KeyId! })).KeyLastUsage?.Operation, 'Encrypt', 'tracked in memory');
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  t.match(warnings.join('\n'), /EmbeddedKmsWarning: embedded-kms: cannot use .*key-usage\.sqlite3 .*tracked in memory only/, 'an EmbeddedKmsWarning, as the package\'s other warnings');
});

t.test('through the endpoint (SDK) and the CLI', async (t) => {
  const home = tempHome();
  const { Kms } = await import('../../src/index.js');
  const kms = await Kms.open({ home });
  const server = await startServer(kms, { port: 0 });
  t.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const client = new KMSClient({ region: 'us-east-1', endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  t.teardown(() => client.destroy());
  const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
  const encrypted = await client.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }));
  const usage = await client.send(new GetKeyLastUsageCommand({ KeyId: key.Arn }));
  t.equal(usage.KeyId, key.KeyId);
  t.equal(usage.KeyLastUsage?.Operation, 'Encrypt');
  t.equal(usage.KeyLastUsage?.KmsRequestId, encrypted.$metadata.requestId, 'the request id the SDK saw');
  t.ok(usage.KeyLastUsage?.Timestamp instanceof Date && usage.TrackingStartDate instanceof Date);

  const cli = await ekms(['get-key-last-usage', '--key-id', key.KeyId!, '--home', home]);
  t.equal(cli.code, 0, cli.stderr);
  t.equal(JSON.parse(cli.stdout).KeyLastUsage.Operation, 'Encrypt', 'the CLI reads what this process recorded');
});

// Two processes (two trackers on one file) using one key in the same millisecond: the use noted
// later stays, whichever process writes its notes last (a helper saw an Encrypt kept over the
// Decrypt that followed it, served by another worker within the millisecond).
t.test('uses in the same millisecond by two processes: the later one stays', async (t) => {
  const path = join(tempHome(), 'key-usage.sqlite3');
  const at = new Date('2026-11-29T12:00:00.000Z');
  const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
  const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
  for (const writesLast of ['earlier', 'later'] as const) {
    const earlier = new KeyUsageTracker(path, at, 'store-1');
    const later = new KeyUsageTracker(path, at, 'store-1');
    earlier.note('Encrypt', { KeyId: arn }, at, `e-${writesLast}`, 'r-1');
    later.note('Decrypt', { KeyId: arn }, at, `d-${writesLast}`, 'r-2');
    if (writesLast === 'earlier') later.flush();
    earlier.flush();
    later.flush();
    for (const tracker of [earlier, later]) t.equal(tracker.lastUsage(keyId)?.operation, 'Decrypt', `the ${writesLast} use written last`);
    earlier.close();
    later.close();
  }
});

t.test('a usage file made before uses were ordered within a millisecond is upgraded', async (t) => {
  const path = join(tempHome(), 'key-usage.sqlite3');
  const old = new Database(path);
  old.exec(`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE key_last_usage (key_id TEXT PRIMARY KEY, operation TEXT NOT NULL, used_at INTEGER NOT NULL, event_id TEXT NOT NULL, request_id TEXT NOT NULL);
    INSERT INTO meta VALUES ('store_id', 'store-1'), ('tracking_started', '1000');
    INSERT INTO key_last_usage VALUES ('k1', 'Sign', 5000, 'e-old', 'r-old');`);
  old.close();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  const tracker = new KeyUsageTracker(path, new Date(9000), 'store-1');
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  t.same(warnings, [], 'the file is used, not replaced by memory');
  t.equal(tracker.trackingStart, 1000, 'its tracking start kept');
  t.equal(tracker.lastUsage('k1')?.eventId, 'e-old', 'its rows kept');
  tracker.note('Verify', { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k1' }, new Date(5000), 'e-new', 'r-new');
  t.equal(tracker.lastUsage('k1')?.eventId, 'e-new', 'a use in the same millisecond, noted later, replaces the old row');
  tracker.close();
});
