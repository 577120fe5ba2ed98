// Grants as AWS defines them (CreateGrant and the grant operations of the developer guide):
// which operations a grant may allow on which kind of key, their ids and tokens, the quota.
// Grants are stored and listed, never evaluated: the endpoint authenticates, it does not
// authorize (README, "Where it deliberately differs").
import { randomBytes } from 'node:crypto';

import { InvalidGrantIdException, InvalidGrantTokenException, LimitExceededException, ValidationException } from '../errors.js';
import type { GrantConstraints, GrantOperation } from '../model/types.js';
import type { KeyRecord } from '../store/records.js';

/** AWS's quota: grants per KMS key. */
export const GRANTS_PER_KEY = 50_000;

const common: readonly GrantOperation[] = ['CreateGrant', 'DescribeKey', 'RetireGrant'];

/** The operations a grant may allow on a key, by the key's type (developer guide, "Grant operations"). */
export function grantableOperations(key: Pick<KeyRecord, 'keySpec' | 'keyUsage'>): readonly GrantOperation[] {
  switch (key.keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return key.keySpec === 'SYMMETRIC_DEFAULT'
        ? [...common, 'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo']
        : [...common, 'Decrypt', 'Encrypt', 'GetPublicKey', 'ReEncryptFrom', 'ReEncryptTo'];
    case 'SIGN_VERIFY':
      return [...common, 'GetPublicKey', 'Sign', 'Verify'];
    case 'GENERATE_VERIFY_MAC':
      return [...common, 'GenerateMac', 'VerifyMac'];
    case 'KEY_AGREEMENT':
      return [...common, 'DeriveSharedSecret', 'GetPublicKey'];
    default:
      return common;
  }
}

/** Refuses operations the key cannot do, and encryption context constraints on keys that take no context. */
export function checkGrantFitsKey(key: KeyRecord, arn: string, operations: readonly GrantOperation[], constraints: GrantConstraints | undefined): void {
  const allowed = grantableOperations(key);
  const invalid = operations.filter((op) => !allowed.includes(op));
  if (invalid.length > 0)
    throw new ValidationException(
      `Grant operations ${invalid.join(', ')} ${invalid.length === 1 ? 'is' : 'are'} not valid for ${arn}, a KMS key with KeySpec ${key.keySpec} and KeyUsage ${key.keyUsage}.`,
    );
  const symmetric = key.keySpec === 'SYMMETRIC_DEFAULT' && key.keyUsage === 'ENCRYPT_DECRYPT';
  if (!symmetric && (constraints?.EncryptionContextEquals !== undefined || constraints?.EncryptionContextSubset !== undefined))
    throw new ValidationException(`Encryption context grant constraints are valid only for symmetric encryption KMS keys; ${arn} has KeySpec ${key.keySpec}.`);
}

export function checkGrantQuota(count: number, arn: string): void {
  if (count >= GRANTS_PER_KEY) throw new LimitExceededException(`The request would exceed the quota of ${GRANTS_PER_KEY} grants for ${arn}.`);
}

/** A new grant id: 64 hexadecimal digits, as AWS's. */
export function newGrantId(): string {
  return randomBytes(32).toString('hex');
}

const GRANT_ID = /^[0-9a-f]{64}$/;

/** Refuses a grant id that no grant can have (InvalidGrantIdException); one that could is looked up. */
export function checkGrantId(grantId: string): void {
  if (!GRANT_ID.test(grantId)) throw new InvalidGrantIdException(`Invalid grant ID ${grantId}`);
}

// A grant token names its grant and key, and is new for every CreateGrant (AWS: every call
// returns a new token, and all tokens of a grant are interchangeable). Version byte, 16 random
// bytes, the grant id's 32 bytes, the key id; base64url without padding.
const TOKEN_VERSION = 1;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function newGrantToken(grantId: string, keyId: string): string {
  return Buffer.concat([Buffer.of(TOKEN_VERSION), randomBytes(16), Buffer.from(grantId, 'hex'), Buffer.from(keyId, 'utf8')]).toString('base64url');
}

/**
 * The grant and key a token names; InvalidGrantTokenException for anything not in the form
 * CreateGrant returns. The form is checked, not the origin: a token is no credential here, as
 * grants are not evaluated.
 */
export function parseGrantToken(token: string): { grantId: string; keyId: string } {
  const bytes = Buffer.from(token, 'base64url');
  const keyId = bytes.subarray(49).toString('utf8');
  if (bytes.toString('base64url') !== token || bytes[0] !== TOKEN_VERSION || !KEY_ID.test(keyId))
    throw new InvalidGrantTokenException('Invalid grant token');
  return { grantId: bytes.subarray(17, 49).toString('hex'), keyId };
}
