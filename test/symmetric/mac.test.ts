// GenerateMac and VerifyMac for every HMAC key spec. The key is never exported, so the MAC is
// checked by its properties: the digest's length, determinism, and VerifyMac accepting it and
// refusing any change of message, MAC, key or algorithm.
import type { KeySpec, MacAlgorithmSpec } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { outcome, setKeyState } from './helpers.js';

const specs: [KeySpec, MacAlgorithmSpec, number][] = [
  ['HMAC_224', 'HMAC_SHA_224', 28],
  ['HMAC_256', 'HMAC_SHA_256', 32],
  ['HMAC_384', 'HMAC_SHA_384', 48],
  ['HMAC_512', 'HMAC_SHA_512', 64],
];
const invalidMac = 'KMSInvalidMacException: ';

eachBackend('VerifyMac accepts GenerateMac\'s output and refuses any change', async (t, kms) => {
  const message = Buffer.from('some important message');
  for (const [spec, alg, length] of specs) {
    const meta = (await kms.createKey({ KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
    const twin = (await kms.createKey({ KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
    t.same(meta.MacAlgorithms, [alg]);
    const out = await kms.generateMac({ KeyId: meta.KeyId!, Message: message, MacAlgorithm: alg });
    t.same(Object.keys(out), ['Mac', 'MacAlgorithm', 'KeyId']);
    t.equal(out.KeyId, meta.Arn);
    t.equal(out.MacAlgorithm, alg);
    t.equal(out.Mac!.length, length, `${spec}: the MAC is as long as the digest`);
    const again = await kms.generateMac({ KeyId: meta.Arn!, Message: message, MacAlgorithm: alg });
    t.ok(Buffer.from(again.Mac!).equals(Buffer.from(out.Mac!)), `${spec}: HMAC is deterministic`);
    const other = await kms.generateMac({ KeyId: twin.KeyId!, Message: message, MacAlgorithm: alg });
    t.notOk(Buffer.from(other.Mac!).equals(Buffer.from(out.Mac!)), `${spec}: another key gives another MAC`);

    const verified = await kms.verifyMac({ KeyId: meta.KeyId!, Message: message, MacAlgorithm: alg, Mac: out.Mac! });
    t.same(verified, { KeyId: meta.Arn, MacValid: true, MacAlgorithm: alg });

    const changedMessage = Buffer.from('some different important message');
    t.equal(await outcome(kms.verifyMac({ KeyId: meta.KeyId!, Message: changedMessage, MacAlgorithm: alg, Mac: out.Mac! })), invalidMac, `${spec}: changed message`);
    t.equal(await outcome(kms.verifyMac({ KeyId: twin.KeyId!, Message: message, MacAlgorithm: alg, Mac: out.Mac! })), invalidMac, `${spec}: another key`);
    const refused: string[] = [];
    for (let i = 0; i < out.Mac!.length; i++) {
      const bad = Buffer.from(out.Mac!);
      bad[i] = (bad[i] as number) ^ 0x01;
      const got = await outcome(kms.verifyMac({ KeyId: meta.KeyId!, Message: message, MacAlgorithm: alg, Mac: bad }));
      if (got !== invalidMac) refused.push(`byte ${i}: ${got}`);
    }
    t.same(refused, [], `${spec}: every altered MAC byte is refused`);
    t.equal(await outcome(kms.verifyMac({ KeyId: meta.KeyId!, Message: message, MacAlgorithm: alg, Mac: out.Mac!.subarray(0, length - 1) })), invalidMac, `${spec}: truncated MAC`);
    const otherAlg = specs.find(([, a]) => a !== alg)![1];
    await rejectsAws(
      t,
      kms.verifyMac({ KeyId: meta.KeyId!, Message: message, MacAlgorithm: otherAlg, Mac: out.Mac! }),
      'InvalidKeyUsageException',
      `Algorithm ${otherAlg} is incompatible with key spec ${spec}.`,
    );
  }
});

eachBackend('GenerateMac and VerifyMac refuse what AWS refuses', async (t, kms) => {
  const hmac224 = (await kms.createKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  const hmac256 = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  const symmetric = (await kms.createKey({})).KeyMetadata!;
  const message = Buffer.from('some important message');
  const mac = (await kms.generateMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256' })).Mac!;
  await rejectsAws(
    t,
    kms.generateMac({ KeyId: hmac224.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    'InvalidKeyUsageException',
    'Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.',
  );
  const enumMessage = (what: string) =>
    `1 validation error detected: Value '${what}' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]`;
  await rejectsAws(t, kms.generateMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'INVALID' as MacAlgorithmSpec }), 'ValidationException', enumMessage('INVALID'));
  await rejectsAws(t, kms.verifyMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'INVALID' as MacAlgorithmSpec, Mac: mac }), 'ValidationException', enumMessage('INVALID'));
  await rejectsAws(
    t,
    kms.generateMac({ KeyId: symmetric.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_224' }),
    'InvalidKeyUsageException',
    `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.`,
  );
  await rejectsAws(
    t,
    kms.verifyMac({ KeyId: symmetric.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac }),
    'InvalidKeyUsageException',
    `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for VerifyMac.`,
  );
  await rejectsAws(t, kms.generateMac({ KeyId: 'key_id', Message: message, MacAlgorithm: 'HMAC_SHA_256' }), 'NotFoundException', "Invalid keyId 'key_id'");
  await rejectsAws(t, kms.verifyMac({ KeyId: 'key_id', Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac }), 'NotFoundException', "Invalid keyId 'key_id'");
  await rejectsAws(
    t,
    kms.generateMac({ KeyId: hmac256.KeyId!, Message: Buffer.alloc(4097), MacAlgorithm: 'HMAC_SHA_256' }),
    'ValidationException',
    "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
  );
  t.equal(await outcome(kms.generateMac({ KeyId: hmac256.KeyId!, Message: Buffer.alloc(4096), MacAlgorithm: 'HMAC_SHA_256' })), 'ok', '4096 bytes is the limit');
  const dryRun = 'DryRunOperationException: The request would have succeeded, but the DryRun option is set.';
  t.equal(await outcome(kms.generateMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256', DryRun: true })), dryRun);
  t.equal(await outcome(kms.verifyMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac, DryRun: true })), dryRun);
  // A MAC that does not match fails a dry run as it fails the call.
  const otherMac = Buffer.from(mac);
  otherMac[0]! ^= 1;
  t.equal(await outcome(kms.verifyMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac: otherMac, DryRun: true })), 'KMSInvalidMacException: ');
  setKeyState(kms, hmac256.KeyId!, 'Disabled');
  await rejectsAws(t, kms.verifyMac({ KeyId: hmac256.KeyId!, Message: message, MacAlgorithm: 'HMAC_SHA_256', Mac: mac }), 'DisabledException', `${hmac256.Arn} is disabled.`);
});
