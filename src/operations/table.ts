// The one operation table: every implemented AWS KMS operation, by its AWS name. The Kms class,
// the endpoint and the CLI all dispatch through it; none of them implements an operation.
import type { OperationName } from '../model/service-model.js';
import { decrypt, encrypt } from './crypto/encrypt.js';
import { deriveSharedSecret } from './crypto/derive-shared-secret.js';
import { sign, verify } from './crypto/sign.js';
import { createKey } from './keys/create-key.js';
import { describeKey } from './keys/describe-key.js';
import { getPublicKey } from './keys/get-public-key.js';
import { listKeys } from './keys/list-keys.js';
import type { Operation } from './operation.js';

const implemented: Operation[] = [
  createKey,
  describeKey,
  listKeys,
  getPublicKey,
  sign,
  verify,
  encrypt,
  decrypt,
  deriveSharedSecret,
] as Operation[];

export const operationTable: ReadonlyMap<OperationName, Operation> = new Map(implemented.map((op) => [op.name, op]));

export function isImplemented(name: string): name is OperationName {
  return operationTable.has(name as OperationName);
}
