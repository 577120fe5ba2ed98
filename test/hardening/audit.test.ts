// The audit trail: one CloudTrail-shaped JSON line per operation in $EKMS_HOME/audit.log (0600),
// no secrets in it, the options that move or disable it, and durability: key management events
// are on disk when their call returns (checked by SIGKILLing a child process right after).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { endsMidLine } from '../../src/audit/log.js';
import { resolveConfig } from '../../src/config.js';
import { startServer } from '../../src/endpoint/index.js';
import { userAgent } from '../../src/version.js';
import { Kms, NotFoundException } from '../../src/index.js';
import { raw, kmsHeaders } from '../endpoint/http.js';
import { backends, tempHome } from '../helpers/backends.js';
import '../helpers/softhsm.js';
import { importInto } from '../import/helpers.js';

type Event = Record<string, any>;

function readEvents(path: string): Event[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Event);
}

t.test('every operation leaves a CloudTrail-shaped event without secrets', async (t) => {
  const home = tempHome('ekms-audit-');
  const kms = await Kms.open({ home, region: 'eu-west-3', accountId: '444455556666' });
  const plaintext = Buffer.from('audit plaintext 7f3a9c');
  const { KeyMetadata } = await kms.createKey({ Description: 'audited', Tags: [{ TagKey: 'team', TagValue: 'sec' }] });
  const keyId = KeyMetadata!.KeyId!;
  const arn = KeyMetadata!.Arn!;
  await kms.createAlias({ AliasName: 'alias/audited', TargetKeyId: keyId });
  const { CiphertextBlob } = await kms.encrypt({ KeyId: 'alias/audited', Plaintext: plaintext, EncryptionContext: { purpose: 'audit' } });
  await kms.decrypt({ CiphertextBlob, EncryptionContext: { purpose: 'audit' } });
  await kms.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
  await t.rejects(kms.describeKey({ KeyId: '11111111-2222-3333-4444-555555555555' }), NotFoundException);
  // A wrong-typed plaintext must not be copied into the log either.
  await t.rejects(kms.encrypt({ KeyId: keyId, Plaintext: ['array plaintext 33cc'] as never }), { name: 'ValidationException' });
  // As the endpoint calls it: an access key and a source address.
  await kms.execute('DescribeKey', { KeyId: keyId }, { kind: 'endpoint', accessKeyId: 'AKIAAUDITTEST0000001', sourceAddress: '127.0.0.1', requestId: 'req-1' });
  // A plaintext given as a string (its UTF-8 bytes, as the SDK takes it) is no more logged than bytes are.
  await kms.encrypt({ KeyId: keyId, Plaintext: 'string plaintext 55aa' as never });
  await kms.close();

  const path = join(home, 'audit.log');
  t.equal(statSync(path).mode & 0o777, 0o600, 'audit.log is 0600');
  const text = readFileSync(path, 'utf8');
  const events = readEvents(path);
  t.same(
    events.map((e) => e.eventName),
    ['CreateKey', 'CreateAlias', 'Encrypt', 'Decrypt', 'GenerateDataKey', 'DescribeKey', 'Encrypt', 'DescribeKey', 'Encrypt'],
    'one event per call, in order',
  );
  for (const e of events) {
    t.equal(e.eventVersion, '1.11');
    t.equal(e.eventSource, 'kms.amazonaws.com');
    t.equal(e.awsRegion, 'eu-west-3');
    t.equal(e.eventType, 'AwsApiCall');
    t.equal(e.eventCategory, 'Management');
    t.equal(e.managementEvent, true);
    t.equal(e.recipientAccountId, '444455556666');
    t.match(e.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t.match(e.eventID, /^[0-9a-f-]{36}$/);
    t.type(e.requestID, 'string');
    t.type(e.userAgent, 'string');
    t.type(e.readOnly, 'boolean');
  }
  const [create, alias, enc, dec, gdk, notFound, badEnc, endpoint] = events as [Event, Event, Event, Event, Event, Event, Event, Event];
  t.same(create.userIdentity, { type: 'AWSAccount', principalId: '444455556666', accountId: '444455556666', invokedBy: 'embedded-kms' });
  t.equal(create.readOnly, false);
  t.same(create.requestParameters, { description: 'audited', tags: [{ tagKey: 'team', tagValue: 'sec' }] });
  t.equal(create.responseElements.keyMetadata.arn, arn);
  t.same(create.resources, [{ accountId: '444455556666', type: 'AWS::KMS::Key', ARN: arn }]);
  t.same(alias.requestParameters, { aliasName: 'alias/audited', targetKeyId: keyId });
  // ct-createalias: the key, then the alias (both typed AWS::KMS::Key, as AWS's entry has them).
  t.same(alias.resources, [
    { accountId: '444455556666', type: 'AWS::KMS::Key', ARN: arn },
    { accountId: '444455556666', type: 'AWS::KMS::Key', ARN: 'arn:aws:kms:eu-west-3:444455556666:alias/audited' },
  ]);
  t.equal(enc.readOnly, true);
  t.same(enc.requestParameters, { keyId: 'alias/audited', encryptionContext: { purpose: 'audit' } }, 'no plaintext, not even its length (CloudTrail leaves it out)');
  t.same(enc.resources?.[0]?.ARN, arn, 'the alias resolved to the key in resources');
  // As in AWS's CloudTrail entries: read-only calls log no responseElements; the key is in resources.
  t.equal(enc.responseElements, null, 'Encrypt: no responseElements');
  t.equal(dec.responseElements, null, 'Decrypt: no responseElements');
  t.equal(gdk.responseElements, null, 'GenerateDataKey: no responseElements');
  t.same(dec.resources?.[0]?.ARN, arn);
  // KMS's guide (ct-decrypt): a Decrypt entry always names the algorithm, given or not.
  t.same(dec.requestParameters, { encryptionContext: { purpose: 'audit' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, 'Decrypt logs the defaulted algorithm');
  t.same(gdk.resources?.[0]?.ARN, arn);
  t.equal(notFound.errorCode, 'NotFoundException');
  t.type(notFound.errorMessage, 'string');
  t.equal(notFound.responseElements, null);
  t.same(notFound.resources, [{ accountId: '444455556666', type: 'AWS::KMS::Key', ARN: 'arn:aws:kms:eu-west-3:444455556666:key/11111111-2222-3333-4444-555555555555' }]);
  t.equal(badEnc.errorCode, 'ValidationException');
  t.same(badEnc.requestParameters.plaintext, { invalidType: 'list' });
  t.same(endpoint.userIdentity, { type: 'IAMUser', principalId: 'AKIAAUDITTEST0000001', accountId: '444455556666', accessKeyId: 'AKIAAUDITTEST0000001' });
  t.equal(endpoint.sourceIPAddress, '127.0.0.1');
  t.equal(endpoint.requestID, 'req-1');
  t.notOk(text.includes('audit plaintext 7f3a9c'), 'no plaintext in the log');
  t.notOk(text.includes('string plaintext 55aa'), 'no plaintext given as a string in the log');
  t.equal(events[8]!.requestParameters.plaintext, undefined, 'a string plaintext is left out, as bytes are');
  t.notOk(text.includes('array plaintext 33cc'), 'no wrong-typed plaintext in the log');
  t.notOk(text.includes(plaintext.toString('base64')), 'no base64 plaintext in the log');
  t.notOk(text.includes(Buffer.from(CiphertextBlob!).toString('base64')), 'no ciphertext in the log');
});

t.test('options and EKMS_AUDIT move or disable the trail', async (t) => {
  const home = tempHome('ekms-audit-');
  t.same(resolveConfig({ home }, {}).audit, { path: join(home, 'audit.log') }, 'on by default in the home');
  t.equal(resolveConfig({ home }, { EKMS_AUDIT: 'off' }).audit, undefined, 'EKMS_AUDIT=off');
  t.same(resolveConfig({ home }, { EKMS_AUDIT: '/var/log/x.log' }).audit, { path: '/var/log/x.log' });
  t.equal(resolveConfig({ home, audit: false }, { EKMS_AUDIT: '/var/log/x.log' }).audit, undefined, 'the option wins');
  t.same(resolveConfig({ home, audit: { path: '/tmp/a.log' } }, { EKMS_AUDIT: 'off' }).audit, { path: '/tmp/a.log' });

  const off = await Kms.open({ home, audit: false });
  await off.createKey({});
  await off.close();
  t.notOk(existsSync(join(home, 'audit.log')), 'audit: false writes nothing');

  const elsewhere = join(tempHome('ekms-audit-dest-'), 'sub', 'trail.jsonl');
  const kms = await Kms.open({ home, audit: { path: elsewhere } });
  await kms.listKeys({});
  await kms.close();
  t.same(readEvents(elsewhere).map((e) => e.eventName), ['ListKeys']);
  t.equal(statSync(elsewhere).mode & 0o777, 0o600);
});

t.test('read-only events reach the file within a second without close', async (t) => {
  const home = tempHome('ekms-audit-');
  const kms = await Kms.open({ home });
  t.teardown(() => kms.close());
  await kms.generateRandom({ NumberOfBytes: 16 });
  // Poll rather than assert a duration: the flush timer runs at most a second later.
  let seen = false;
  for (let i = 0; i < 50 && !seen; i++) {
    seen = readEvents(join(home, 'audit.log')).some((e) => e.eventName === 'GenerateRandom');
    if (!seen) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(seen, 'the buffered event was flushed by the timer');
});

function runChild(home: string, mode: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'audit-crash-child.mjs'), home, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EKMS_AUDIT: '' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) {
        child.kill('SIGKILL');
        child.once('exit', () => resolve(m[1]!));
      }
    });
    child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

t.test('key management events survive SIGKILL right after the call returns', async (t) => {
  const home = tempHome('ekms-audit-crash-');
  const keyId = await runChild(home, 'now');
  const events = readEvents(join(home, 'audit.log'));
  const management = events.filter((e) => !e.readOnly).map((e) => e.eventName);
  t.same(management, ['CreateKey', 'CreateAlias', 'TagResource', 'DisableKey', 'EnableKey'], 'every management event is on disk');
  t.ok(events.every((e) => e.resources?.[0]?.ARN.endsWith(keyId)), 'each names the key');

  const home2 = tempHome('ekms-audit-crash-');
  await runChild(home2, 'wait');
  t.ok(
    readEvents(join(home2, 'audit.log')).some((e) => e.eventName === 'Encrypt'),
    'a cryptographic event is on disk after its flush window, without close',
  );
});

t.test('what the store does by itself (a deletion whose date came, an automatic rotation) is an AwsServiceEvent', async (t) => {
  // As AWS's CloudTrail records DeleteKey and RotateKey: made by the service, not by a caller.
  const home = tempHome('ekms-audit-');
  let now = Date.UTC(2030, 0, 1);
  const kms = await Kms.open({ home, clock: () => new Date(now) });
  const rotating = (await kms.createKey({})).KeyMetadata!;
  const doomed = (await kms.createKey({})).KeyMetadata!;
  await kms.enableKeyRotation({ KeyId: rotating.KeyId!, RotationPeriodInDays: 90 });
  await kms.scheduleKeyDeletion({ KeyId: doomed.KeyId!, PendingWindowInDays: 7 });
  now += 8 * 86_400_000;
  await kms.listKeys({}); // any call runs what fell due
  // Each event is dated when AWS would have acted, not when a call found it due.
  const deletedAt = '2030-01-08T00:00:00Z';
  now += 90 * 86_400_000;
  await kms.listKeys({});
  const rotatedAt = '2030-04-01T00:00:00Z';
  const material = (await kms.describeKey({ KeyId: rotating.KeyId! })).KeyMetadata!.CurrentKeyMaterialId;
  t.not(material, rotating.CurrentKeyMaterialId, 'the key rotated');
  await kms.close();
  const events = readEvents(join(home, 'audit.log'));
  const service = events.filter((e) => e.eventType === 'AwsServiceEvent');
  t.same(service.map((e) => e.eventName), ['DeleteKey', 'RotateKey'], 'one event each, in order');
  const [deleted, rotated] = service as [Event, Event];
  // As KMS's documented service events (CloudTrail's "AWS service events", KMS's ct-rotatekey).
  for (const e of service) {
    t.same(e.userIdentity, { accountId: '111122223333', invokedBy: 'AWS Internal' });
    t.equal(e.sourceIPAddress, 'AWS Internal');
    t.equal(e.userAgent, 'AWS Internal');
    t.equal(e.requestID, undefined, 'no request made it');
    t.equal(e.readOnly, false);
  }
  t.equal(deleted.eventTime, deletedAt);
  t.same(deleted.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: doomed.Arn }]);
  t.equal(rotated.eventTime, rotatedAt);
  t.same(rotated.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: rotating.Arn }]);
  t.same(rotated.serviceEventDetails, {
    rotationType: 'AUTOMATIC',
    keyOrigin: 'AWS_KMS',
    previousKeyMaterialId: rotating.CurrentKeyMaterialId,
    currentKeyMaterialId: material,
    keyId: rotating.KeyId,
  });
});

t.test('an on-demand rotation is a RotateKey service event too (rotationType ON_DEMAND), beside the RotateKeyOnDemand call', async (t) => {
  // KMS's ct-rotatekey page shows this second event beside the caller's RotateKeyOnDemand.
  const home = tempHome('ekms-audit-ondemand-');
  const kms = await Kms.open({ home });
  const generated = (await kms.createKey({})).KeyMetadata!;
  await kms.rotateKeyOnDemand({ KeyId: generated.KeyId! });
  const generatedNow = (await kms.describeKey({ KeyId: generated.KeyId! })).KeyMetadata!.CurrentKeyMaterialId;
  // Imported material rotates to the material imported for the rotation.
  const external = (await kms.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!;
  const first = (await importInto(kms, external.KeyId!, randomBytes(32))).KeyMaterialId!;
  const next = (await importInto(kms, external.KeyId!, randomBytes(32), { importType: 'NEW_KEY_MATERIAL' })).KeyMaterialId!;
  await kms.rotateKeyOnDemand({ KeyId: external.KeyId! });
  await kms.close();
  const events = readEvents(join(home, 'audit.log'));
  const calls = events.filter((e) => e.eventName === 'RotateKeyOnDemand');
  t.same(calls.map((e) => e.eventType), ['AwsApiCall', 'AwsApiCall'], "the callers' calls");
  const rotations = events.filter((e) => e.eventName === 'RotateKey');
  t.same(rotations.map((e) => e.eventType), ['AwsServiceEvent', 'AwsServiceEvent'], 'and one rotation each, made by the service');
  const [generatedRotation, externalRotation] = rotations as [Event, Event];
  t.equal(events.indexOf(generatedRotation), events.indexOf(calls[0]!) + 1, "right after the call's own event, as AWS's trail has it");
  t.equal(events.indexOf(externalRotation), events.indexOf(calls[1]!) + 1);
  t.equal(generatedRotation.eventTime, calls[0]!.eventTime, 'dated when the call made it');
  t.same(generatedRotation.serviceEventDetails, {
    rotationType: 'ON_DEMAND',
    keyOrigin: 'AWS_KMS',
    previousKeyMaterialId: generated.CurrentKeyMaterialId,
    currentKeyMaterialId: generatedNow,
    keyId: generated.KeyId,
  });
  t.not(generatedNow, generated.CurrentKeyMaterialId, 'the generated key rotated');
  t.same(generatedRotation.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: generated.Arn }]);
  t.same(externalRotation.serviceEventDetails, {
    rotationType: 'ON_DEMAND',
    keyOrigin: 'EXTERNAL',
    previousKeyMaterialId: first,
    currentKeyMaterialId: next,
    keyId: external.KeyId,
  });
});

for (const backend of backends()) {
  t.test(`symmetric calls name the key material they used in additionalEventData, as CloudTrail does [${backend.name}]`, async (t) => {
    // KMS developer guide: ct-encrypt, ct-decrypt, ct-generatedatakey (and its siblings), ct-reencrypt.
    const kms = await backend.open();
    const path = kms.audit!.path;
    const key = (await kms.createKey({})).KeyMetadata!;
    const other = (await kms.createKey({})).KeyMetadata!;
    const first = key.CurrentKeyMaterialId!;
    const { CiphertextBlob: before } = await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('p') });
    await kms.rotateKeyOnDemand({ KeyId: key.KeyId! });
    const second = (await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.CurrentKeyMaterialId!;
    t.not(second, first, 'the key rotated');
    await kms.encrypt({ KeyId: key.KeyId!, Plaintext: Buffer.from('p') });
    await kms.decrypt({ CiphertextBlob: before! });
    await kms.generateDataKey({ KeyId: key.KeyId!, KeySpec: 'AES_256' });
    await kms.generateDataKeyWithoutPlaintext({ KeyId: key.KeyId!, NumberOfBytes: 16 });
    await kms.generateDataKeyPair({ KeyId: key.KeyId!, KeyPairSpec: 'ECC_NIST_P256' });
    await kms.generateDataKeyPairWithoutPlaintext({ KeyId: key.KeyId!, KeyPairSpec: 'ECC_NIST_P256' });
    await kms.reEncrypt({ CiphertextBlob: before!, DestinationKeyId: other.KeyId! });
    // Keys without material ids, and failures, name none.
    const rsa = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
    const { CiphertextBlob: rsaBlob } = await kms.encrypt({ KeyId: rsa.KeyId!, Plaintext: Buffer.from('p'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    await kms.decrypt({ KeyId: rsa.KeyId!, CiphertextBlob: rsaBlob!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    await kms.reEncrypt({ CiphertextBlob: before!, DestinationKeyId: rsa.KeyId!, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    const signer = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
    await kms.sign({ KeyId: signer.KeyId!, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
    await t.rejects(kms.decrypt({ CiphertextBlob: before!, EncryptionContext: { wrong: 'context' } }), { name: 'InvalidCiphertextException' });
    await kms.close();
    const all = readEvents(path);
    const rotated = all.findIndex((e) => e.eventName === 'RotateKeyOnDemand');
    const events = all.slice(rotated + 1).filter((e) => e.eventType === 'AwsApiCall' && !['CreateKey', 'DescribeKey'].includes(e.eventName));
    t.same(
      events.map((e) => [e.eventName, e.additionalEventData]),
      [
        ['Encrypt', { keyMaterialId: second }],
        ['Decrypt', { keyMaterialId: first }],
        ['GenerateDataKey', { keyMaterialId: second }],
        ['GenerateDataKeyWithoutPlaintext', { keyMaterialId: second }],
        ['GenerateDataKeyPair', { keyMaterialId: second }],
        ['GenerateDataKeyPairWithoutPlaintext', { keyMaterialId: second }],
        ['ReEncrypt', { destinationKeyMaterialId: other.CurrentKeyMaterialId, sourceKeyMaterialId: first }],
        ['Encrypt', undefined],
        ['Decrypt', undefined],
        ['ReEncrypt', { sourceKeyMaterialId: first }],
        ['Sign', undefined],
        ['Decrypt', undefined],
      ],
      'each symmetric use names its material; RSA, signing and failed calls name none',
    );
    const text = readFileSync(path, 'utf8');
    t.ok(text.includes(`"additionalEventData":{"destinationKeyMaterialId":"${other.CurrentKeyMaterialId}","sourceKeyMaterialId":"${first}"}`), "ReEncrypt's members in ct-reencrypt's order");
    t.equal(events[0]!.responseElements, null, 'read-only events keep a null responseElements');
  });
}

for (const backend of backends().filter((b) => b.name !== 'software')) {
  t.test(`connecting and disconnecting a custom key store name it in additionalEventData, with no responseElements [${backend.name}]`, async (t) => {
    // KMS developer guide, ct-connect-keystore and ct-disconnect-keystore.
    const kms = await backend.open();
    const store = (await kms.describeCustomKeyStores({})).CustomKeyStores![0]!;
    await kms.disconnectCustomKeyStore({ CustomKeyStoreId: store.CustomKeyStoreId! });
    await kms.connectCustomKeyStore({ CustomKeyStoreId: store.CustomKeyStoreId! });
    const path = kms.audit!.path;
    await kms.close();
    const events = readEvents(path).filter((e) => ['ConnectCustomKeyStore', 'DisconnectCustomKeyStore'].includes(e.eventName));
    t.same(
      events.map((e) => [e.eventName, e.responseElements, e.additionalEventData]),
      [
        ['DisconnectCustomKeyStore', null, { customKeyStoreName: store.CustomKeyStoreName }],
        ['ConnectCustomKeyStore', null, { customKeyStoreName: store.CustomKeyStoreName }],
      ],
    );
  });
}

t.test('alias, ReEncrypt, listing and date members as CloudTrail writes them', async (t) => {
  // KMS developer guide: ct-updatealias, ct-deletealias, ct-reencrypt, ct-listaliases,
  // ct-generaterandom, ct-createkey and ct-schedule-key-deletion (dates in US medium form, UTC).
  const home = tempHome('ekms-audit-shapes-');
  const kms = await Kms.open({ home, region: 'us-west-2' });
  const [a, b] = [(await kms.createKey({})).KeyMetadata!, (await kms.createKey({})).KeyMetadata!];
  await kms.createAlias({ AliasName: 'alias/shapes', TargetKeyId: a.KeyId! });
  await kms.updateAlias({ AliasName: 'alias/shapes', TargetKeyId: b.KeyId! });
  await kms.deleteAlias({ AliasName: 'alias/shapes' });
  const { CiphertextBlob } = await kms.encrypt({ KeyId: a.KeyId!, Plaintext: Buffer.from('p') });
  await kms.reEncrypt({ CiphertextBlob: CiphertextBlob!, DestinationKeyId: b.KeyId! });
  await kms.listAliases({});
  await kms.generateRandom({ NumberOfBytes: 8 });
  const { DeletionDate } = await kms.scheduleKeyDeletion({ KeyId: b.KeyId!, PendingWindowInDays: 7 });
  await kms.close();
  const events = readEvents(join(home, 'audit.log'));
  const named = (name: string) => events.find((e) => e.eventName === name)!;
  const resource = (ARN: string) => ({ accountId: '111122223333', type: 'AWS::KMS::Key', ARN });
  const aliasArn = 'arn:aws:kms:us-west-2:111122223333:alias/shapes';
  t.same(named('UpdateAlias').resources, [resource(aliasArn), resource(b.Arn!)], 'UpdateAlias: the alias, then its new key');
  t.same(named('UpdateAlias').responseElements, { keyId: b.Arn });
  t.same(named('DeleteAlias').resources, [resource(aliasArn), resource(b.Arn!)], 'DeleteAlias: the alias, then the key it named');
  t.same(named('DeleteAlias').responseElements, { keyId: b.Arn }, 'whose ARN is the responseElements.keyId');
  const re = named('ReEncrypt');
  t.same(re.resources, [resource(a.Arn!), resource(b.Arn!)], 'ReEncrypt: the source key, then the destination');
  t.same(re.requestParameters, { sourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT', destinationKeyId: b.KeyId, destinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, 'with both algorithms, as Decrypt names its own');
  t.same(named('ListAliases').resources, [], 'a listing names no resource, in an empty list');
  t.same(named('GenerateRandom').resources, []);
  const date = (d: Date) => d.toLocaleString('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit', hour12: true }).replace(/\u202f/g, ' ');
  t.equal(named('ScheduleKeyDeletion').responseElements.deletionDate, date(DeletionDate!), 'deletionDate in US medium form (checked against Intl)');
  t.equal(events.find((e) => e.eventName === 'CreateKey')!.responseElements.keyMetadata.creationDate, date(a.CreationDate!));
  t.match(named('ScheduleKeyDeletion').responseElements.deletionDate, /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M$/);
});

t.test('imported material that expires is a DeleteExpiredKeyMaterial service event, dated at its ValidTo', async (t) => {
  const home = tempHome('ekms-audit-expiry-');
  let now = Date.UTC(2030, 0, 1);
  const kms = await Kms.open({ home, clock: () => new Date(now) });
  const key = (await kms.createKey({ Origin: 'EXTERNAL' })).KeyMetadata!;
  const validTo = new Date(Date.UTC(2030, 0, 3));
  const materialId = (await importInto(kms, key.KeyId!, randomBytes(32), { validTo })).KeyMaterialId!;
  now = Date.UTC(2030, 0, 5);
  await kms.listKeys({}); // any call runs what fell due
  t.equal((await kms.describeKey({ KeyId: key.KeyId! })).KeyMetadata!.KeyState, 'PendingImport');
  await kms.close();
  const expired = readEvents(join(home, 'audit.log')).filter((e) => e.eventType === 'AwsServiceEvent');
  t.same(expired.map((e) => e.eventName), ['DeleteExpiredKeyMaterial']);
  t.equal(expired[0]!.eventTime, '2030-01-03T00:00:00Z');
  t.same(expired[0]!.serviceEventDetails, { keyMaterialId: materialId, keyId: key.KeyId });
  t.same(expired[0]!.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: key.Arn }]);
});

t.test('management events name the key they acted on (responseElements.keyId), as CloudTrail does since December 2022', async (t) => {
  const home = tempHome('ekms-audit-keyid-');
  const kms = await Kms.open({ home });
  const key = (await kms.createKey({})).KeyMetadata!;
  await kms.disableKey({ KeyId: key.KeyId! });
  await kms.enableKey({ KeyId: key.KeyId! });
  await kms.tagResource({ KeyId: key.KeyId!, Tags: [{ TagKey: 'a', TagValue: 'b' }] });
  const { GrantId } = await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: 'arn:aws:iam::111122223333:role/x', Operations: ['Decrypt'] });
  await kms.close();
  const byName = new Map(readEvents(join(home, 'audit.log')).map((e) => [e.eventName, e]));
  for (const name of ['DisableKey', 'EnableKey', 'TagResource']) t.same(byName.get(name)!.responseElements, { keyId: key.Arn }, name);
  t.match(byName.get('CreateGrant')!.responseElements, { grantId: GrantId, keyId: key.Arn });
  // Java's decapitalisation, which CloudTrail's member names follow: AWSAccountId stays.
  t.equal(byName.get('CreateKey')!.responseElements!.keyMetadata.AWSAccountId, '111122223333');
});

t.test('a rotated audit log (renamed or removed) is followed by a new file, nothing lost', async (t) => {
  const home = tempHome('ekms-audit-rotate-');
  const path = join(home, 'audit.log');
  const kms = await Kms.open({ home });
  const { KeyMetadata } = await kms.createKey({ Description: 'before rotation' });
  await kms.encrypt({ KeyId: KeyMetadata!.KeyId!, Plaintext: Buffer.from('x') });
  await kms.audit!.flush();
  renameSync(path, `${path}.1`); // what logrotate does in its default `create` mode
  await kms.describeKey({ KeyId: KeyMetadata!.KeyId! });
  await kms.tagResource({ KeyId: KeyMetadata!.KeyId!, Tags: [{ TagKey: 'after', TagValue: 'rename' }] });
  await kms.audit!.flush();
  t.same(readEvents(path).map((e) => e.eventName), ['DescribeKey', 'TagResource'], 'a new file after the rename');
  unlinkSync(path); // removed by hand
  await kms.disableKey({ KeyId: KeyMetadata!.KeyId! });
  await kms.close();
  t.same(
    readEvents(`${path}.1`).map((e) => e.eventName),
    ['CreateKey', 'Encrypt'],
    'the renamed file holds what came before',
  );
  t.same(readEvents(path).map((e) => e.eventName), ['DisableKey'], 'a new file after the removal');
  t.equal(statSync(path).mode & 0o777, 0o600, 'the new file is 0600 too');
});

t.test('a line cut short by a failed write (this or another process\'s) does not swallow the next event', async (t) => {
  // A write cut short (a full disk) leaves half a line; the process that made it may be gone.
  const home = tempHome('ekms-audit-torn-');
  const path = join(home, 'audit.log');
  const half = '{"eventVersion":"1.08","eventName":"CreateKey","requestParameters":{"description":"cut';
  writeFileSync(path, `${half}`, { mode: 0o600 });
  const kms = await Kms.open({ home });
  const { KeyMetadata } = await kms.createKey({ Description: 'after the cut' });
  appendFileSync(path, half); // another process's write, cut short while this one runs
  await kms.tagResource({ KeyId: KeyMetadata!.KeyId!, Tags: [{ TagKey: 'k', TagValue: 'v' }] });
  await kms.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  t.same(lines.filter((l) => l === half).length, 2, 'each half line stays alone on its line');
  const events = lines.filter((l) => l !== half).map((l) => JSON.parse(l) as Event);
  t.same(events.map((e) => e.eventName), ['CreateKey', 'TagResource'], 'every event after them parses');
});

t.test('another process\'s write in progress is not taken for a line cut short (no empty line after it)', async (t) => {
  // The kernel grows the file as it copies a write in, so a look at the file's end while another
  // process writes a batch finds half a line for a moment. Ending it would leave an empty line
  // once that write completes (several processes on one store: 15 in 433,000 lines).
  const home = tempHome('ekms-audit-inflight-');
  const path = join(home, 'audit.log');
  writeFileSync(path, '{"eventName":"CreateKey"}\n{"eventName":"Enc', { mode: 0o600 });
  const fd = openSync(path, 'a+');
  t.teardown(() => closeSync(fd));
  const growing = setTimeout(() => appendFileSync(path, 'ry'), 1);
  const finished = setTimeout(() => appendFileSync(path, 'pt"}\n'), 5);
  t.equal(await endsMidLine(fd), false, 'a line still growing is another process\'s write in progress');
  await new Promise((resolve) => setTimeout(resolve, 10));
  clearTimeout(growing);
  clearTimeout(finished);
  t.equal(await endsMidLine(fd), false, 'a file that ends in a newline');
  appendFileSync(path, '{"eventName":"Cut');
  t.equal(await endsMidLine(fd), true, 'half a line that stays so is a line cut short');
});

t.test('a trail sent to a pipe whose reader went away: calls go on, the loss is reported', async (t) => {
  // A collector reading a FIFO (or /dev/stdout piped to one) that exits: writes must fail (EPIPE)
  // and be reported, never block. Holding the pipe's read end ourselves, they would block once
  // the pipe is full, and every key management call would wait for its line forever.
  const home = tempHome('ekms-audit-fifo-');
  const fifo = join(home, 'audit.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('head', ['-c', '2000', fifo], { stdio: 'ignore' });
  const exited = new Promise((resolve) => reader.once('exit', resolve));
  const kms = await Kms.open({ home, audit: { path: fifo } });
  t.teardown(() => kms.close());
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  let done = false;
  const reading = exited.then(() => (done = true));
  while (!done) await kms.createKey({ Description: 'while the collector reads' });
  await reading;
  // More than a pipe holds (64 KiB): blocking writes would stop this loop.
  const settled = await Promise.race([
    (async () => {
      for (let i = 0; i < 300; i++) await kms.createKey({ Description: 'x'.repeat(300) });
      return 'all done';
    })(),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
  ]);
  t.equal(settled, 'all done', 'every call returned');
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(warnings.includes('AuditLogWarning'), 'the lost events are reported');
});

t.test('audit lines built from cached parts keep each caller apart (user agent, key, source)', async (t) => {
  const { cloudTrailEvent } = await import('../../src/audit/index.js');
  const id = { region: 'us-east-1', accountId: '111122223333', partition: 'aws', userAgent: 'embedded-kms/test' };
  const time = new Date();
  const line = (caller: Record<string, string>) =>
    cloudTrailEvent(id, { operation: 'Sign', input: { KeyId: 'alias/x' }, caller: { kind: 'endpoint', requestId: 'r', ...caller }, time });
  // The same operation and caller kind, one after another: each line must show its own caller.
  t.equal(line({ userAgent: '' }).userAgent, '', 'an empty user agent is logged as given');
  t.equal(line({}).userAgent, 'embedded-kms/test', 'no user agent: the library default');
  t.equal(line({ userAgent: 'aws-sdk-js/3' }).userAgent, 'aws-sdk-js/3');
  t.equal(line({ accessKeyId: 'AKIAONE' }).userIdentity.accessKeyId, 'AKIAONE');
  t.equal(line({ accessKeyId: 'AKIATWO' }).userIdentity.accessKeyId, 'AKIATWO');
  t.equal(line({ sourceAddress: '10.0.0.1' }).sourceIPAddress, '10.0.0.1');
  t.equal(line({ sourceAddress: '10.0.0.2' }).sourceIPAddress, '10.0.0.2');
  t.equal(line({}).userIdentity.accessKeyId, undefined);
});

t.test('audit resources built from cached parts: no value can pass for a list of keys, or the reverse', async (t) => {
  const { cloudTrailEvent } = await import('../../src/audit/index.js');
  const { NotFoundException } = await import('../../src/errors.js');
  const id = { region: 'us-east-1', accountId: '111122223333', partition: 'aws', userAgent: 'embedded-kms/test' };
  const arn = (n: number) => `arn:aws:kms:us-east-1:111122223333:key/${String(n).padStart(8, '0')}-1111-2222-3333-444455556666`;
  const [a, b] = [arn(1), arn(2)];
  const caller = { kind: 'endpoint' as const, requestId: 'r' };
  const time = new Date();
  const resources = (event: { resources?: { ARN: string }[] }) => (event.resources ?? []).map((r) => r.ARN);
  // A failed call naming one odd value (the two ARNs joined by a NUL), then a call naming both.
  const odd = cloudTrailEvent(id, { operation: 'Decrypt', input: { KeyId: `${a}\u0000${b}` }, error: new NotFoundException('x'), caller, time });
  t.same(resources(odd), [`${a}\u0000${b}`]);
  const both = cloudTrailEvent(id, { operation: 'ReEncrypt', input: {}, output: { KeyId: a, SourceKeyId: b }, caller, time });
  t.same(resources(both), [b, a], 'two keys stay two keys, the source first (ct-reencrypt)');
  const oddAgain = cloudTrailEvent(id, { operation: 'ReEncrypt', input: {}, output: { KeyId: `${a}\u0000${b}` }, caller, time });
  t.same(resources(oddAgain), [`${a}\u0000${b}`], 'and one value stays one');
  t.same(resources(cloudTrailEvent(id, { operation: 'ReEncrypt', input: {}, output: { KeyId: a, SourceKeyId: b }, caller, time })), [b, a]);
});

t.test('audit caches stay bounded: many callers and keys still give exact lines', async (t) => {
  const { cloudTrailEvent } = await import('../../src/audit/index.js');
  const id = { region: 'us-east-1', accountId: '111122223333', partition: 'aws', userAgent: 'embedded-kms/test' };
  const time = new Date();
  // More frames and closings than each cache holds (10,000): every line is still its own.
  for (let i = 0; i < 12_000; i++) {
    const keyId = `${String(i).padStart(8, '0')}-1111-2222-3333-444455556666`;
    const event = cloudTrailEvent(id, {
      operation: 'Sign',
      input: { KeyId: keyId },
      output: { KeyId: `arn:aws:kms:us-east-1:111122223333:key/${keyId}` },
      caller: { kind: 'endpoint', requestId: `r${i}`, sourceAddress: `10.0.${i >> 8}.${i & 255}` },
      time,
    });
    if (event.sourceIPAddress !== `10.0.${i >> 8}.${i & 255}` || event.resources?.[0]?.ARN !== `arn:aws:kms:us-east-1:111122223333:key/${keyId}`) {
      t.fail(`line ${i} names another caller or key: ${JSON.stringify(event)}`);
      return;
    }
  }
  t.pass('12,000 distinct callers and keys, each line exact');
});

// A caller repeating one request logs the same requestParameters each time, and the trail
// reuses their text (event.ts, requestJson): a request object reused with any logged value
// changed must be logged with its new values, never those of the call before.
t.test('a request object reused with changed values is logged as it was at each call', async (t) => {
  const home = tempHome('ekms-audit-');
  const kms = await Kms.open({ home });
  const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  const keyId = KeyMetadata!.KeyId!;
  const { KeyMetadata: other } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  const request: Record<string, unknown> = { KeyId: keyId, Message: Buffer.alloc(32, 1), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' };
  const expected: Record<string, unknown>[] = [];
  const call = async (change: () => void, logged: Record<string, unknown>) => {
    change();
    await kms.sign(request as never);
    expected.push(logged);
  };
  const base = { keyId, messageType: 'DIGEST', signingAlgorithm: 'ECDSA_SHA_256' };
  await call(() => {}, base);
  await call(() => {}, base);
  await call(() => (request.Message = Buffer.alloc(32, 2)), base); // nothing of the message is logged: the same line
  await call(() => Object.assign(request, { MessageType: 'RAW', Message: Buffer.alloc(5) }), { ...base, messageType: 'RAW' });
  await call(() => (request.KeyId = other!.Arn!), { ...base, keyId: other!.Arn!, messageType: 'RAW' });
  await call(() => (request.GrantTokens = ['token-a']), { ...base, keyId: other!.Arn!, messageType: 'RAW', grantTokens: ['[redacted]'] });
  await call(() => delete request.GrantTokens, { ...base, keyId: other!.Arn!, messageType: 'RAW' });
  await call(() => (request.Message = new Uint8Array(7)), { ...base, keyId: other!.Arn!, messageType: 'RAW' });
  // A failed call in between, then the same request again.
  await t.rejects(kms.sign({ ...request, SigningAlgorithm: 'RSASSA_PSS_SHA_256' } as never), { name: 'InvalidKeyUsageException' });
  await call(() => {}, { ...base, keyId: other!.Arn!, messageType: 'RAW' });
  await kms.close();
  const signs = readEvents(join(home, 'audit.log')).filter((e) => e.eventName === 'Sign');
  const succeeded = signs.filter((e) => e.errorCode === undefined);
  t.equal(signs.length, expected.length + 1, 'one event per call');
  t.same(
    succeeded.map((e) => e.requestParameters),
    expected,
  );
  t.equal(new Set(signs.map((e) => e.eventID)).size, signs.length, 'every event has its own id');
  t.equal(new Set(signs.map((e) => e.requestID)).size, signs.length, 'every call has its own request id');
  const failed = signs.find((e) => e.errorCode !== undefined)!;
  t.same(failed.requestParameters, { keyId: other!.Arn!, messageType: 'RAW', signingAlgorithm: 'RSASSA_PSS_SHA_256' });
});

t.test('grant tokens stay out of failed calls\' messages in the trail, whatever characters the list holds', async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const KeyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const { GrantToken } = await kms.createGrant({ KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:role/app', Operations: ['Decrypt'] });
  const { CiphertextBlob } = await kms.encrypt({ KeyId, Plaintext: Buffer.from('x') });
  const lists = [
    [GrantToken!, ...Array(10).fill("o'brien")], // too many: the list is quoted whole, and it holds quotes
    [GrantToken!, ...Array(10).fill("x' at 'grantTokens' y")], // a value that looks like the end of the quote
    ["x' at 'grantTokens' y", GrantToken!, ...Array(9).fill('z')], // and stands before the real token
  ];
  for (const GrantTokens of lists) await t.rejects(kms.decrypt({ CiphertextBlob, GrantTokens }), { name: 'ValidationException' });
  // An element of the wrong type is quoted at its own path (grantTokens.1.member): the CreateGrant
  // result where its token belongs, the token in a list or a structure, a String object.
  const grant = await kms.createGrant({ KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:role/app', Operations: ['Decrypt'] });
  const elements = [grant, [grant.GrantToken], { token: grant.GrantToken }, new String(grant.GrantToken)];
  for (const element of elements) await t.rejects(kms.decrypt({ CiphertextBlob, GrantTokens: [element] as never }), { name: 'ValidationException' });
  await kms.close();
  const failed = readEvents(join(home, 'audit.log')).filter((e) => e.eventName === 'Decrypt');
  t.equal(failed.length, 3 + elements.length);
  for (const e of failed.slice(0, 3)) {
    t.equal(e.errorCode, 'ValidationException');
    t.match(e.errorMessage, /at 'grantTokens' failed to satisfy constraint/, 'the message still says what was wrong');
  }
  for (const e of failed.slice(3)) t.match(e.errorMessage, /^1 validation error detected: Value at 'grantTokens\.1\.member' failed to satisfy constraint: Member must be a string$/);
  const log = readFileSync(join(home, 'audit.log'), 'utf8');
  t.notOk(log.includes(GrantToken!), 'the grant token is in no line');
  t.notOk(log.includes(grant.GrantToken!), "nor the token of the result given whole");
  t.notOk(log.includes(grant.GrantToken!.slice(0, 3).split('').map((c, i) => `${i}=${c}`).join(', ')), 'nor a String object\'s characters');
});

t.test('grant events as CloudTrail logs them: CreateGrant without its token, RetireGrant by token naming its key and grant', async (t) => {
  // KMS developer guide, ct-creategrant and ct-retire-grant.
  const home = tempHome();
  const kms = await Kms.open({ home });
  const key = (await kms.createKey({})).KeyMetadata!;
  const { GrantToken, GrantId } = await kms.createGrant({ KeyId: key.KeyId!, GranteePrincipal: 'arn:aws:iam::111122223333:role/app', Operations: ['Decrypt'] });
  await kms.retireGrant({ GrantToken: GrantToken! });
  await t.rejects(kms.retireGrant({ GrantToken: GrantToken! }), { name: 'NotFoundException' });
  await kms.close();
  const events = readEvents(join(home, 'audit.log'));
  const created = events.find((e) => e.eventName === 'CreateGrant')!;
  t.same(created.responseElements, { grantId: GrantId, keyId: key.Arn }, 'the grant and its key, no token');
  const [retired, again] = events.filter((e) => e.eventName === 'RetireGrant') as [Event, Event];
  for (const e of [retired, again]) {
    t.equal(e.requestParameters, null, 'the request is not logged');
    t.same(e.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: key.Arn }], 'the key the token names');
    t.same(e.additionalEventData, { grantId: GrantId }, 'and its grant');
  }
  t.equal(again.errorCode, 'NotFoundException');
  t.notOk(readFileSync(join(home, 'audit.log'), 'utf8').includes(GrantToken!), 'the grant token is in no line');
});

t.test("RetireGrant's token and a structure's secrets given with the wrong type stay out of the trail", async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const KeyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const { GrantToken } = await kms.createGrant({ KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:role/app', Operations: ['Decrypt'] });
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // A list where a string or a structure belongs: the validation message would quote it whole.
  await t.rejects(kms.retireGrant({ GrantToken: [GrantToken] as never }), { name: 'ValidationException' });
  const credential = ['AKIAIOSFODNN7EXAMPLE', secret] as never;
  const thrown = (await kms.createCustomKeyStore({ CustomKeyStoreName: 'x', XksProxyAuthenticationCredential: credential }).catch((e: Error) => e)) as Error;
  t.equal(thrown.name, 'ValidationException');
  t.notOk(thrown.message.includes(secret), 'not in the error the caller gets either');
  await kms.close();
  const log = readFileSync(join(home, 'audit.log'), 'utf8');
  t.notOk(log.includes(GrantToken!), 'the grant token is in no line');
  t.notOk(log.includes(secret), 'the secret access key is in no line');
  const retire = readEvents(join(home, 'audit.log')).find((e) => e.eventName === 'RetireGrant')!;
  t.match(retire.errorMessage, /Value at 'grantToken' failed to satisfy constraint: Member must be a string/);
});

t.test("an endpoint call is logged with the client's User-Agent, as CloudTrail logs it", async (t) => {
  const home = tempHome();
  const kms = await Kms.open({ home });
  const server = await startServer(kms, { port: 0 });
  const agent = 'aws-cli/2.9.19 Python/3.9.11 Linux/6.1 exe/x86_64.debian.12 prompt/off command/kms.list-keys';
  const listed = await raw(server.url, { headers: { ...kmsHeaders(server.url, 'ListKeys'), 'User-Agent': agent }, body: '{}' });
  t.equal(listed.status, 200);
  const unnamed = await raw(server.url, { headers: kmsHeaders(server.url, 'ListAliases'), body: '{}' });
  t.equal(unnamed.status, 200);
  await server.close();
  await kms.close();
  const events = readEvents(join(home, 'audit.log'));
  t.same(
    events.map((e) => [e.eventName, e.userAgent]),
    [
      ['ListKeys', agent],
      ['ListAliases', userAgent],
    ],
    "the client's own, else the library's",
  );
});

t.test('the event records the request as validated, not as its caller changed it later', async (t) => {
  const home = tempHome('ekms-audit-');
  const kms = await Kms.open({ home });
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  // The write just made has this call wait (for the due-rotation pass) before its operation runs.
  const request = { KeyId: keyId, Tags: [{ TagKey: 'team', TagValue: 'a' }] };
  const tagging = kms.tagResource(request);
  request.Tags[0]!.TagKey = 'changed';
  request.KeyId = 'alias/elsewhere';
  await tagging;
  await kms.close();
  const event = readEvents(join(home, 'audit.log')).find((e) => e.eventName === 'TagResource')!;
  t.same(event.requestParameters, { keyId, tags: [{ tagKey: 'team', tagValue: 'a' }] });
});
