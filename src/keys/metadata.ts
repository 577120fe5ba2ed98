// KeyMetadata as AWS returns it (DescribeKey, CreateKey), members in the model's order.
import type { CustomerMasterKeySpec, KeyMetadata, KeyState } from '../model/types.js';
import type { KeyRecord } from '../store/records.js';
import type { Arns } from './arn.js';
import { keySpecs } from './specs.js';

/**
 * The deprecated CustomerMasterKeySpec member: the key spec, for every spec ("The KeySpec and
 * CustomerMasterKeySpec fields have the same value", the model's documentation). AWS stopped
 * adding to that member's enum, yet answers with it for newer specs too: real CreateKey output
 * for an ML-DSA key carries `"CustomerMasterKeySpec": "ML_DSA_65"` (AWS Security Blog, "How to
 * create post-quantum signatures using AWS KMS and ML-DSA"). SDKs that map enums keep such a
 * value as an unknown one.
 */
export function legacyKeySpec(keySpec: string): { CustomerMasterKeySpec: CustomerMasterKeySpec } {
  return { CustomerMasterKeySpec: keySpec as CustomerMasterKeySpec };
}

export function algorithmsFor(record: Pick<KeyRecord, 'keySpec' | 'keyUsage'>): Pick<
  KeyMetadata,
  'EncryptionAlgorithms' | 'SigningAlgorithms' | 'KeyAgreementAlgorithms' | 'MacAlgorithms'
> {
  const spec = keySpecs[record.keySpec];
  switch (record.keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return { EncryptionAlgorithms: [...(spec.encryption ?? [])] };
    case 'SIGN_VERIFY':
      return { SigningAlgorithms: [...(spec.signing ?? [])] };
    case 'KEY_AGREEMENT':
      return { KeyAgreementAlgorithms: [...(spec.keyAgreement ?? [])] };
    case 'GENERATE_VERIFY_MAC':
      return { MacAlgorithms: [...(spec.mac ?? [])] };
  }
}

/** `state`: the key state to report (a loaded key's: Unavailable while its custom key store is disconnected). */
export function keyMetadata(record: KeyRecord, arns: Arns, state: KeyState = record.state): KeyMetadata {
  const arn = arns.key(record.keyId);
  const algorithms = algorithmsFor(record);
  const m: KeyMetadata = {
    AWSAccountId: arns.accountId,
    KeyId: record.keyId,
    Arn: arn,
    CreationDate: record.createdAt,
    Enabled: state === 'Enabled',
    Description: record.description,
    KeyUsage: record.keyUsage,
    KeyState: state,
  };
  if (record.deletionDate) m.DeletionDate = record.deletionDate;
  // Imported material (Origin EXTERNAL): how it expires, while the key has it (import-store.ts).
  if (record.imported?.validTo) m.ValidTo = record.imported.validTo;
  m.Origin = record.origin;
  if (record.customKeyStoreId) m.CustomKeyStoreId = record.customKeyStoreId;
  if (record.imported?.expirationModel) m.ExpirationModel = record.imported.expirationModel;
  m.KeyManager = 'CUSTOMER';
  Object.assign(m, legacyKeySpec(record.keySpec));
  m.KeySpec = record.keySpec;
  if (algorithms.EncryptionAlgorithms) m.EncryptionAlgorithms = algorithms.EncryptionAlgorithms;
  if (algorithms.SigningAlgorithms) m.SigningAlgorithms = algorithms.SigningAlgorithms;
  if (algorithms.KeyAgreementAlgorithms) m.KeyAgreementAlgorithms = algorithms.KeyAgreementAlgorithms;
  m.MultiRegion = record.multiRegion;
  if (record.multiRegion) {
    m.MultiRegionConfiguration = {
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: arn, Region: arns.region },
      ReplicaKeys: [],
    };
  }
  // No PendingDeletionWindowInDays: AWS reports it only for PendingReplicaDeletion (multi-Region
  // keys with replicas, which this store does not make); a key pending deletion has DeletionDate.
  if (algorithms.MacAlgorithms) m.MacAlgorithms = algorithms.MacAlgorithms;
  // AWS reports the current key material only for symmetric encryption keys.
  if (record.keySpec === 'SYMMETRIC_DEFAULT' && record.currentMaterialId) m.CurrentKeyMaterialId = record.currentMaterialId;
  return m;
}
