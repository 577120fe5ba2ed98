// An operation acts on the request as it was validated: a getter that answers differently the
// second time, or a caller that changes its object while the call waits, changes nothing. A call
// can wait before its operation runs (here: for the due-rotation pass that a write before it makes
// every next call await), and an operation that read its input again then once stored a rotation
// period of 0 days, which made the key rotate forever and every later call of the store wait.
import t from 'tap';

import type { Kms } from '../../src/index.js';
import { eachBackend } from '../helpers/kms-fixture.js';

type Test = typeof t;

/** An object whose member `name` is `first` when read the first time, `then` on every later read. */
function flipping<T extends object>(base: T, name: string, first: unknown, then: unknown): T {
  let reads = 0;
  return Object.defineProperty({ ...base }, name, { enumerable: true, get: () => (reads++ === 0 ? first : then) });
}

async function newKey(kms: Kms): Promise<string> {
  return (await kms.createKey({})).KeyMetadata!.KeyId!;
}

eachBackend('EnableKeyRotation keeps the period it validated, whatever the getter says next', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  await kms.enableKeyRotation(flipping({ KeyId: keyId }, 'RotationPeriodInDays', 120, 0));
  const status = await kms.getKeyRotationStatus({ KeyId: keyId });
  t.equal(status.RotationPeriodInDays, 120);
  t.equal(status.KeyRotationEnabled, true);
  // The store still answers: no rotation runs (its first date is 120 days away).
  t.same((await kms.listKeyRotations({ KeyId: keyId })).Rotations, []);
  t.equal((await kms.describeKey({ KeyId: keyId })).KeyMetadata!.KeyState, 'Enabled');
});

eachBackend('a request changed by its caller while the call waits is used as it was validated', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  // The write just made marks the rotation schedule for a look: this call waits for that pass
  // before its operation runs, and its caller changes the request meanwhile.
  const rotation = { KeyId: keyId, RotationPeriodInDays: 100 };
  const enabling = kms.enableKeyRotation(rotation);
  rotation.RotationPeriodInDays = 0;
  await enabling;
  t.equal((await kms.getKeyRotationStatus({ KeyId: keyId })).RotationPeriodInDays, 100);

  const tags = [{ TagKey: 'team', TagValue: 'a' }];
  const request = { KeyId: keyId, Tags: tags };
  const tagging = kms.tagResource(request);
  tags[0]!.TagKey = 'aws:reserved';
  tags.push({ TagKey: 'x'.repeat(200), TagValue: 'b' });
  request.KeyId = 'alias/not-there';
  await tagging;
  t.same((await kms.listResourceTags({ KeyId: keyId })).Tags, [{ TagKey: 'team', TagValue: 'a' }]);

  const context = { purpose: 'test' } as Record<string, unknown>;
  const encrypting = kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('secret'), EncryptionContext: context });
  context.purpose = 7;
  const { CiphertextBlob } = await encrypting;
  const { Plaintext } = await kms.decrypt({ CiphertextBlob, EncryptionContext: { purpose: 'test' } });
  t.equal(Buffer.from(Plaintext!).toString(), 'secret', 'encrypted under the context as validated');
});

eachBackend('a flipping getter in a map or a list is read once', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const context = flipping({}, 'purpose', 'test', 42);
  const { CiphertextBlob } = await kms.encrypt({ KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: context as Record<string, string> });
  const { Plaintext } = await kms.decrypt({ CiphertextBlob, EncryptionContext: { purpose: 'test' } });
  t.equal(Buffer.from(Plaintext!).toString(), 'x');

  const tag = flipping({ TagValue: 'v' }, 'TagKey', 'kept', 'aws:flipped');
  await kms.tagResource({ KeyId: keyId, Tags: [tag as { TagKey: string; TagValue: string }] });
  t.same((await kms.listResourceTags({ KeyId: keyId })).Tags, [{ TagKey: 'kept', TagValue: 'v' }]);
});
