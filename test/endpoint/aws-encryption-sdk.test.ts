// The AWS Encryption SDK for JavaScript (@aws-crypto/client-node) against embedded-kms, as users
// point it at AWS KMS: a KmsKeyringNode whose clientProvider returns a KMS client for our
// endpoint (or the in-process handler). Two stores in two regions, one per backend (software in
// us-east-1, SoftHSM2 in eu-west-1), so a message carries one encrypted data key from each, the
// way a multi-region keyring does against AWS; the clientProvider routes by the ARN's region.
import {
  buildAwsKmsMrkAwareDiscoveryMultiKeyringNode,
  buildAwsKmsMrkAwareStrictMultiKeyringNode,
  buildClient,
  CommitmentPolicy,
  KMS,
  KmsKeyringNode,
  type KmsNodeClientSupplier,
} from '@aws-crypto/client-node';
import t, { type Test } from 'tap';

import { createInProcessHandler } from '../../src/client/in-process-handler.js';
import { startServer } from '../../src/endpoint/index.js';
import type { Kms } from '../../src/index.js';
import { software } from '../helpers/backends.js';
import { softhsm } from '../helpers/softhsm.js';

const credentials = { accessKeyId: 'AKIDANY', secretAccessKey: 'any-secret' };
const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const context = { purpose: 'interop', tenant: 'acme' };
const cleartext = Buffer.from('a message for the AWS Encryption SDK');

type Connect = (kms: Kms) => Promise<ConstructorParameters<typeof KMS>[0]>;

/** Opens the two regions' stores and returns a clientProvider reaching each by `connect`. */
async function twoRegions(tt: Test, connect: Connect): Promise<{ east: Kms; west: Kms; clientProvider: KmsNodeClientSupplier }> {
  const east = await software.open({ region: 'us-east-1' });
  const west = await softhsm.open({ region: 'eu-west-1' });
  // Teardowns run last-added first: the clients and servers (added below) close before the stores.
  tt.teardown(() => Promise.all([east.close(), west.close()]));
  const clients = new Map<string, KMS>();
  for (const [region, kms] of [['us-east-1', east], ['eu-west-1', west]] as const) {
    const client = new KMS({ region, credentials, ...(await connect(kms)) });
    tt.teardown(() => client.destroy());
    clients.set(region, client);
  }
  // As with AWS, a region the provider does not know gets no client (the keyring skips it).
  return { east, west, clientProvider: (region: string) => clients.get(region) ?? false };
}

async function exercise(tt: Test, connect: Connect): Promise<void> {
  const { east, west, clientProvider } = await twoRegions(tt, connect);
  const generator = (await east.createKey({ Description: 'ESDK generator' })).KeyMetadata!.Arn!;
  const additional = (await west.createKey({ Description: 'ESDK additional key' })).KeyMetadata!.Arn!;
  tt.match(generator, /^arn:aws:kms:us-east-1:/);
  tt.match(additional, /^arn:aws:kms:eu-west-1:/);

  const keyring = new KmsKeyringNode({ generatorKeyId: generator, keyIds: [additional], clientProvider });
  const { result, messageHeader } = await encrypt(keyring, cleartext, { encryptionContext: context });
  tt.same(
    messageHeader.encryptedDataKeys.map((edk) => [edk.providerId, edk.providerInfo]),
    [['aws-kms', generator], ['aws-kms', additional]],
    'one encrypted data key per KMS key, named by its ARN (GenerateDataKey then Encrypt)',
  );
  tt.notOk(result.includes(cleartext), 'the message does not carry the cleartext');

  // Independently of the SDK: both encrypted data keys decrypt, under the message's encryption
  // context, to one and the same data key of the suite's length.
  const ec = messageHeader.encryptionContext;
  tt.match(ec, context, 'the message carries our encryption context');
  const [k1, k2] = await Promise.all(
    messageHeader.encryptedDataKeys.map((edk, i) => (i === 0 ? east : west).decrypt({ CiphertextBlob: edk.encryptedDataKey, EncryptionContext: ec })),
  );
  tt.equal(k1!.Plaintext!.length, 32, 'a 256-bit data key (the default committing suite)');
  tt.same(Buffer.from(k1!.Plaintext!), Buffer.from(k2!.Plaintext!), 'both EDKs hold the same data key');

  const full = await decrypt(keyring, result);
  tt.equal(full.plaintext.toString(), cleartext.toString(), 'the keyring that encrypted decrypts');
  tt.match(full.messageHeader.encryptionContext, context);

  // A keyring of the additional key alone decrypts through the eu-west-1 (SoftHSM2) store.
  const westOnly = await decrypt(new KmsKeyringNode({ keyIds: [additional], clientProvider }), result);
  tt.equal(westOnly.plaintext.toString(), cleartext.toString(), 'the additional key decrypts alone');

  // Discovery: no key named; the SDK asks KMS to decrypt each EDK by the ARN in the message.
  const discovery = new KmsKeyringNode({ discovery: true, clientProvider, discoveryFilter: { accountIDs: ['111122223333'], partition: 'aws' } });
  tt.equal((await decrypt(discovery, result)).plaintext.toString(), cleartext.toString(), 'a discovery keyring decrypts');

  // The keyrings the SDK's documentation now leads with are multi-Region-key aware: with a
  // multi-Region key (mrk-…), strict encrypts and decrypts, discovery decrypts by region.
  const mrk = (await east.createKey({ MultiRegion: true })).KeyMetadata!.Arn!;
  tt.match(mrk, /:key\/mrk-[0-9a-f]{32}$/);
  const strict = buildAwsKmsMrkAwareStrictMultiKeyringNode({ generatorKeyId: mrk, keyIds: [additional], clientProvider });
  const mrkMessage = (await encrypt(strict, cleartext, { encryptionContext: context })).result;
  tt.equal((await decrypt(strict, mrkMessage)).plaintext.toString(), cleartext.toString(), 'an MRK-aware strict keyring decrypts');
  const mrkDiscovery = buildAwsKmsMrkAwareDiscoveryMultiKeyringNode({ regions: ['us-east-1'], clientProvider });
  tt.equal((await decrypt(mrkDiscovery, mrkMessage)).plaintext.toString(), cleartext.toString(), 'an MRK-aware discovery keyring decrypts');

  // The wrong key: a keyring whose key wrapped none of the EDKs makes no KMS call; the SDK
  // finds no data key.
  const other = (await east.createKey({})).KeyMetadata!.Arn!;
  const otherKeyring = new KmsKeyringNode({ keyIds: [other], clientProvider });
  await tt.rejects(decrypt(otherKeyring, result), /unencryptedDataKey has not been set/, 'a keyring of another key cannot decrypt');
  // An EDK relabelled with that key's ARN (same length, so the header still parses): the SDK asks
  // KMS to decrypt it with the wrong KeyId, and KMS answers IncorrectKeyException as AWS does.
  const relabelled = Buffer.from(result.toString('latin1').replace(generator, other), 'latin1');
  await tt.rejects(decrypt(otherKeyring, relabelled), /^Unable to decrypt data key and one or more KMS CMKs had an error\.[\s\S]*IncorrectKeyException: The key ID in the request does not identify a CMK that can perform this operation\./);

  // A tampered encryption context: KMS refuses the EDKs (InvalidCiphertextException, as AWS does)
  // and the SDK reports the KMS errors it collected.
  const at = result.indexOf(Buffer.from('interop'));
  tt.ok(at > 0, 'the context is serialized in the header');
  const tampered = Buffer.from(result);
  tampered[at + 'interop'.length - 1] ^= 1;
  await tt.rejects(decrypt(keyring, tampered), /^Unable to decrypt data key and one or more KMS CMKs had an error\.[\s\S]*InvalidCiphertextException/);
  await tt.rejects(west.decrypt({ CiphertextBlob: messageHeader.encryptedDataKeys[1]!.encryptedDataKey, EncryptionContext: { ...ec, purpose: 'interoq' } }), { name: 'InvalidCiphertextException' });
}

t.test('Encryption SDK through the endpoint', (tt) =>
  exercise(tt, async (kms) => {
    const server = await startServer(kms, { port: 0 });
    tt.teardown(() => server.close());
    return { endpoint: server.url };
  }),
);

t.test('Encryption SDK through the in-process handler', (tt) => exercise(tt, async (kms) => ({ requestHandler: createInProcessHandler(kms) })));
