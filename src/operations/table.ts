// The one operation table: every implemented AWS KMS operation, by its AWS name. The Kms class,
// the endpoint and the CLI all dispatch through it; none of them implements an operation.
import type { OperationName } from '../model/service-model.js';
import { decrypt, encrypt } from './crypto/encrypt.js';
import { deriveSharedSecret } from './crypto/derive-shared-secret.js';
import { generateDataKey, generateDataKeyPair, generateDataKeyPairWithoutPlaintext, generateDataKeyWithoutPlaintext } from './crypto/data-keys.js';
import { generateMac, verifyMac } from './crypto/mac.js';
import { generateRandom } from './crypto/random.js';
import { reEncrypt } from './crypto/re-encrypt.js';
import { sign, verify } from './crypto/sign.js';
import { connectCustomKeyStore, disconnectCustomKeyStore } from './custom-key-stores/connect.js';
import { createGrant } from './grants/create-grant.js';
import { listGrants, listRetirableGrants } from './grants/list-grants.js';
import { retireGrant, revokeGrant } from './grants/retire-revoke.js';
import { describeCustomKeyStores } from './custom-key-stores/describe.js';
import { deleteImportedKeyMaterial } from './import/delete-imported-key-material.js';
import { getParametersForImport } from './import/get-parameters-for-import.js';
import { importKeyMaterial } from './import/import-key-material.js';
import { createKey } from './keys/create-key.js';
import { describeKey } from './keys/describe-key.js';
import { getKeyLastUsage } from './keys/get-key-last-usage.js';
import { getPublicKey } from './keys/get-public-key.js';
import { listKeys } from './keys/list-keys.js';
import { createAlias, deleteAlias, listAliases, updateAlias } from './lifecycle/aliases.js';
import { cancelKeyDeletion, scheduleKeyDeletion } from './lifecycle/deletion.js';
import { updateKeyDescription } from './lifecycle/description.js';
import { disableKey, enableKey } from './lifecycle/enable-disable.js';
import { getKeyPolicy, listKeyPolicies, putKeyPolicy } from './lifecycle/policies.js';
import { listResourceTags, tagResource, untagResource } from './lifecycle/tags.js';
import type { Operation } from './operation.js';
import { disableKeyRotation, enableKeyRotation } from './rotation/enable-disable.js';
import { listKeyRotations } from './rotation/list-rotations.js';
import { rotateKeyOnDemand } from './rotation/rotate-on-demand.js';
import { getKeyRotationStatus } from './rotation/status.js';

const implemented: Operation[] = [
  createKey,
  describeKey,
  getKeyLastUsage,
  listKeys,
  getPublicKey,
  sign,
  verify,
  encrypt,
  decrypt,
  deriveSharedSecret,
  reEncrypt,
  generateDataKey,
  generateDataKeyWithoutPlaintext,
  generateDataKeyPair,
  generateDataKeyPairWithoutPlaintext,
  generateRandom,
  generateMac,
  verifyMac,
  enableKeyRotation,
  disableKeyRotation,
  getKeyRotationStatus,
  rotateKeyOnDemand,
  listKeyRotations,
  createAlias,
  updateAlias,
  deleteAlias,
  listAliases,
  tagResource,
  untagResource,
  listResourceTags,
  enableKey,
  disableKey,
  scheduleKeyDeletion,
  cancelKeyDeletion,
  updateKeyDescription,
  getKeyPolicy,
  putKeyPolicy,
  listKeyPolicies,
  createGrant,
  listGrants,
  listRetirableGrants,
  retireGrant,
  revokeGrant,
  describeCustomKeyStores,
  connectCustomKeyStore,
  disconnectCustomKeyStore,
  getParametersForImport,
  importKeyMaterial,
  deleteImportedKeyMaterial,
] as Operation[];

export const operationTable: ReadonlyMap<OperationName, Operation> = new Map(implemented.map((op) => [op.name, op]));

export function isImplemented(name: string): name is OperationName {
  return operationTable.has(name as OperationName);
}
