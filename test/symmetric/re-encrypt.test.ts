// ReEncrypt between any two encryption keys, in both directions, with contexts and algorithms.
// RSA ciphertexts made by Node's crypto from GetPublicKey are accepted as the source, which
// checks the RSA side independently of our own Encrypt.
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';

import type { EncryptionAlgorithmSpec } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';
import { outcome, setKeyState } from './helpers.js';

const message = Buffer.from('test message 123 !%$@ 1234567890');
const incorrectKey = 'The key ID in the request does not identify a CMK that can perform this operation.';

eachBackend('ReEncrypt symmetric to symmetric: contexts, material ids, no SourceKeyId needed', async (t, kms) => {
  const source = (await kms.createKey({})).KeyMetadata!;
  const destination = (await kms.createKey({})).KeyMetadata!;
  const sourceContext = { from: 'a' };
  const destinationContext = { to: 'b' };
  const blob = (await kms.encrypt({ KeyId: source.KeyId!, Plaintext: message, EncryptionContext: sourceContext })).CiphertextBlob!;
  for (const sourceKeyId of [undefined, source.KeyId!]) {
    const out = await kms.reEncrypt({
      CiphertextBlob: blob,
      SourceEncryptionContext: sourceContext,
      DestinationKeyId: destination.KeyId!,
      DestinationEncryptionContext: destinationContext,
      ...(sourceKeyId ? { SourceKeyId: sourceKeyId } : {}),
    });
    t.same(
      { ...out, CiphertextBlob: undefined },
      {
        CiphertextBlob: undefined,
        SourceKeyId: source.Arn,
        KeyId: destination.Arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        SourceKeyMaterialId: source.CurrentKeyMaterialId,
        DestinationKeyMaterialId: destination.CurrentKeyMaterialId,
      },
    );
    const dec = await kms.decrypt({ CiphertextBlob: out.CiphertextBlob!, EncryptionContext: destinationContext });
    t.ok(Buffer.from(dec.Plaintext!).equals(message));
    t.equal(dec.KeyId, destination.Arn);
    t.equal(await outcome(kms.decrypt({ CiphertextBlob: out.CiphertextBlob!, EncryptionContext: sourceContext })), 'InvalidCiphertextException: ');
  }
  // Same key, new context: what ReEncrypt is also for.
  const recontext = await kms.reEncrypt({ CiphertextBlob: blob, SourceEncryptionContext: sourceContext, DestinationKeyId: source.KeyId!, DestinationEncryptionContext: { new: 'context' } });
  t.ok(Buffer.from((await kms.decrypt({ CiphertextBlob: recontext.CiphertextBlob!, EncryptionContext: { new: 'context' } })).Plaintext!).equals(message));
  // The source context is required as for Decrypt.
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: destination.KeyId! }), 'InvalidCiphertextException', '');
});

eachBackend('ReEncrypt between symmetric and RSA keys, both directions, and RSA to RSA', async (t, kms) => {
  const symmetric = (await kms.createKey({})).KeyMetadata!;
  const rsa2048 = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const rsa3072 = (await kms.createKey({ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!;
  const publicKey = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: rsa2048.KeyId! })).PublicKey!), format: 'der', type: 'spki' });
  const oaep: [EncryptionAlgorithmSpec, string][] = [['RSAES_OAEP_SHA_1', 'sha1'], ['RSAES_OAEP_SHA_256', 'sha256']];

  for (const [alg, hash] of oaep) {
    // RSA (a ciphertext made by Node) → symmetric.
    const nodeBlob = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, message);
    const toSym = await kms.reEncrypt({ CiphertextBlob: nodeBlob, SourceKeyId: rsa2048.KeyId!, SourceEncryptionAlgorithm: alg, DestinationKeyId: symmetric.KeyId!, DestinationEncryptionContext: { c: '1' } });
    t.equal(toSym.SourceKeyId, rsa2048.Arn);
    t.equal(toSym.SourceEncryptionAlgorithm, alg);
    t.equal(toSym.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    t.equal(toSym.SourceKeyMaterialId, undefined, 'no material id for an RSA source');
    t.equal(toSym.DestinationKeyMaterialId, symmetric.CurrentKeyMaterialId);
    t.ok(Buffer.from((await kms.decrypt({ CiphertextBlob: toSym.CiphertextBlob!, EncryptionContext: { c: '1' } })).Plaintext!).equals(message), `RSA ${alg} → symmetric`);

    // Symmetric → RSA.
    const symBlob = (await kms.encrypt({ KeyId: symmetric.KeyId!, Plaintext: message })).CiphertextBlob!;
    const toRsa = await kms.reEncrypt({ CiphertextBlob: symBlob, DestinationKeyId: rsa2048.KeyId!, DestinationEncryptionAlgorithm: alg });
    t.equal(toRsa.KeyId, rsa2048.Arn);
    t.equal(toRsa.DestinationEncryptionAlgorithm, alg);
    t.equal(toRsa.SourceKeyMaterialId, symmetric.CurrentKeyMaterialId);
    t.equal(toRsa.DestinationKeyMaterialId, undefined, 'no material id for an RSA destination');
    t.equal(toRsa.CiphertextBlob!.length, 256, 'a raw RSA-2048 ciphertext');
    t.ok(Buffer.from((await kms.decrypt({ CiphertextBlob: toRsa.CiphertextBlob!, KeyId: rsa2048.KeyId!, EncryptionAlgorithm: alg })).Plaintext!).equals(message), `symmetric → RSA ${alg}`);

    // RSA → RSA (AWS's recorded case), across key sizes and algorithms.
    const other = oaep.find(([a]) => a !== alg)![0];
    const rsaToRsa = await kms.reEncrypt({ CiphertextBlob: nodeBlob, SourceKeyId: rsa2048.Arn!, SourceEncryptionAlgorithm: alg, DestinationKeyId: rsa3072.KeyId!, DestinationEncryptionAlgorithm: other });
    t.same(Object.keys(rsaToRsa).sort(), ['CiphertextBlob', 'DestinationEncryptionAlgorithm', 'KeyId', 'SourceEncryptionAlgorithm', 'SourceKeyId']);
    t.ok(Buffer.from((await kms.decrypt({ CiphertextBlob: rsaToRsa.CiphertextBlob!, KeyId: rsa3072.KeyId!, EncryptionAlgorithm: other })).Plaintext!).equals(message), `RSA ${alg} → RSA ${other}`);
  }

  // The plaintext must fit the destination's OAEP limit; only native code knows its size.
  const large = (await kms.encrypt({ KeyId: symmetric.KeyId!, Plaintext: Buffer.alloc(191, 1) })).CiphertextBlob!;
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: large, DestinationKeyId: rsa2048.KeyId!, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    'ValidationException',
    'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.',
  );
  const fits = (await kms.encrypt({ KeyId: symmetric.KeyId!, Plaintext: Buffer.alloc(190, 1) })).CiphertextBlob!;
  t.equal(await outcome(kms.reEncrypt({ CiphertextBlob: fits, DestinationKeyId: rsa2048.KeyId!, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), 'ok', '190 bytes fit');
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: fits, DestinationKeyId: rsa2048.KeyId!, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionContext: { c: '1' } }),
    'ValidationException',
    'EncryptionContext is not supported with asymmetric KMS keys.',
  );
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: fits, DestinationKeyId: rsa2048.KeyId! }),
    'InvalidKeyUsageException',
    'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.',
  );
  const nodeBlob = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, message);
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: nodeBlob, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: symmetric.KeyId! }),
    'ValidationException',
    'SourceKeyId is required when the encryption algorithm is not SYMMETRIC_DEFAULT.',
  );
  // An encryption context is refused with an asymmetric key on the decrypting side too, where it
  // would bind nothing (KMS developer guide, encrypt_context).
  const asymmetric = { CiphertextBlob: nodeBlob, SourceKeyId: rsa2048.KeyId!, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const };
  await rejectsAws(t, kms.reEncrypt({ ...asymmetric, SourceEncryptionContext: { c: '1' }, DestinationKeyId: symmetric.KeyId! }), 'ValidationException', 'EncryptionContext is not supported with asymmetric KMS keys.');
  await rejectsAws(
    t,
    kms.decrypt({ CiphertextBlob: nodeBlob, KeyId: rsa2048.KeyId!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { c: '1' } }),
    'ValidationException',
    'EncryptionContext is not supported with asymmetric KMS keys.',
  );
  t.ok(
    Buffer.from((await kms.decrypt({ CiphertextBlob: nodeBlob, KeyId: rsa2048.KeyId!, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: {} })).Plaintext!).equals(message),
    'an empty context is no context',
  );
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: nodeBlob, SourceKeyId: rsa2048.KeyId!, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: symmetric.KeyId! }),
    'InvalidCiphertextException',
    '',
  );
});

eachBackend('ReEncrypt refuses what AWS refuses', async (t, kms) => {
  const source = (await kms.createKey({})).KeyMetadata!;
  const destination = (await kms.createKey({})).KeyMetadata!;
  const hmac = (await kms.createKey({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!;
  const signing = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata!;
  const blob = (await kms.encrypt({ KeyId: source.KeyId!, Plaintext: message })).CiphertextBlob!;
  // Recorded: an HMAC key as SourceKeyId (and as destination) is IncorrectKeyException.
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, SourceKeyId: hmac.KeyId!, DestinationKeyId: hmac.KeyId! }), 'IncorrectKeyException', incorrectKey);
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, SourceKeyId: destination.KeyId!, DestinationKeyId: destination.KeyId! }), 'IncorrectKeyException', incorrectKey);
  await rejectsAws(
    t,
    kms.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: signing.KeyId! }),
    'InvalidKeyUsageException',
    `${signing.Arn} key usage is SIGN_VERIFY which is not valid for ReEncrypt.`,
  );
  const bad = Buffer.from(blob);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: bad, DestinationKeyId: destination.KeyId! }), 'InvalidCiphertextException', '');
  await rejectsAws(
    t,
    kms.reEncrypt({ DestinationKeyId: destination.KeyId! }),
    'ValidationException',
    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
  );
  const dryRun = 'The request would have succeeded, but the DryRun option is set.';
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: destination.KeyId!, DryRun: true }), 'DryRunOperationException', dryRun);
  // A dry run checks the ciphertext as the call would.
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: bad, DestinationKeyId: destination.KeyId!, DryRun: true }), 'InvalidCiphertextException', '');
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, SourceEncryptionContext: { not: 'given' }, DestinationKeyId: destination.KeyId!, DryRun: true }), 'InvalidCiphertextException', '');
  // IGNORE_CIPHERTEXT: only the keys are checked, so no blob is needed, but the source key is.
  await rejectsAws(
    t,
    kms.reEncrypt({ SourceKeyId: source.KeyId!, DestinationKeyId: destination.KeyId!, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] }),
    'DryRunOperationException',
    dryRun,
  );
  await rejectsAws(
    t,
    kms.reEncrypt({ DestinationKeyId: destination.KeyId!, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] }),
    'ValidationException',
    'SourceKeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.',
  );
  setKeyState(kms, destination.KeyId!, 'Disabled');
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: destination.KeyId! }), 'DisabledException', `${destination.Arn} is disabled.`);
  setKeyState(kms, source.KeyId!, 'Disabled');
  await rejectsAws(t, kms.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: hmac.KeyId! }), 'DisabledException', `${source.Arn} is disabled.`);
});
