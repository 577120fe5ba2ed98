// CreateGrant: a grant on a key, stored (grants are listed, retired and revoked, not evaluated).
// A retry with the same Name and the same parameters returns the grant it made (with a new
// token), as AWS does; without a Name every call makes a new grant.
import { isDeepStrictEqual } from 'node:util';

import { InvalidArnException, NotFoundException, ValidationException } from '../../errors.js';
import { checkGrantFitsKey, checkGrantQuota, newGrantId, newGrantToken } from '../../keys/grants.js';
import { isGrantPrincipal } from '../../keys/policy.js';
import { checkKeyState } from '../../keys/state.js';
import type { CreateGrantRequest } from '../../model/types.js';
import { countGrants, grantsNamed, insertGrant, type GrantRecord } from '../../store/grants.js';
import { defineOperation, stopIfDryRun } from '../operation.js';

function checkPrincipals(input: CreateGrantRequest): void {
  if (input.GranteePrincipal === undefined && input.GranteeServicePrincipal === undefined)
    // What the model said while GranteePrincipal was the only grantee (a required member).
    throw new ValidationException("1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null");
  if (input.GranteePrincipal !== undefined && input.GranteeServicePrincipal !== undefined)
    throw new ValidationException('You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.');
  if (input.RetiringPrincipal !== undefined && input.RetiringServicePrincipal !== undefined)
    throw new ValidationException('You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
  if (input.GranteeServicePrincipal !== undefined) {
    if (input.Constraints?.SourceArn === undefined)
      throw new ValidationException('A grant for a GranteeServicePrincipal must have a SourceArn grant constraint.');
    if (input.RetiringPrincipal === undefined && input.RetiringServicePrincipal === undefined)
      throw new ValidationException('A grant for a GranteeServicePrincipal must have a RetiringPrincipal or a RetiringServicePrincipal.');
  }
}

// The model's documentation of Constraints: "Each constraint value can include up to 8
// encryption context pairs. The encryption context value in each constraint cannot exceed 384
// characters."
const MAX_CONSTRAINT_PAIRS = 8;
const MAX_CONSTRAINT_VALUE_CHARS = 384;

/** Checks of the request alone: its operations and constraints, before the key is looked up. */
function checkGrantRequest(input: CreateGrantRequest): void {
  // AWS's words, as botocore reported them (ansible/ansible#31960).
  if (input.Operations.length > 0 && input.Operations.every((op) => op === 'CreateGrant'))
    throw new ValidationException('Grants must not contain only the CreateGrant operation.');
  const c = input.Constraints;
  if (!c) return;
  // One kind of encryption context constraint per grant; AWS's words as the AWS SDK for Java
  // reported them (aws/aws-sdk-java#328). (IAM Access Analyzer's model of a grant says the same:
  // "You can specify only one type of encryption context.")
  if (c.EncryptionContextEquals !== undefined && c.EncryptionContextSubset !== undefined) throw new ValidationException('More than one constraint supplied');
  for (const [name, context] of [
    ['EncryptionContextEquals', c.EncryptionContextEquals],
    ['EncryptionContextSubset', c.EncryptionContextSubset],
  ] as const) {
    if (context === undefined) continue;
    const values = Object.values(context);
    if (values.length > MAX_CONSTRAINT_PAIRS)
      throw new ValidationException(`The ${name} grant constraint has ${values.length} encryption context pairs; a constraint can include up to ${MAX_CONSTRAINT_PAIRS}.`);
    // Characters as AWS counts them (code points).
    if (values.some((v) => [...v].length > MAX_CONSTRAINT_VALUE_CHARS))
      throw new ValidationException(`An encryption context value in the ${name} grant constraint exceeds ${MAX_CONSTRAINT_VALUE_CHARS} characters.`);
  }
}

/** The grant a request describes, as stored (operations as a set: their order does not make another grant). */
function grantOf(input: CreateGrantRequest, keyId: string, grantId: string, now: Date): Omit<GrantRecord, 'seq'> {
  const g: Omit<GrantRecord, 'seq'> = { grantId, keyId, createdAt: now, operations: [...new Set(input.Operations)] };
  if (input.Name !== undefined) g.name = input.Name;
  if (input.GranteePrincipal !== undefined) g.granteePrincipal = input.GranteePrincipal;
  if (input.GranteeServicePrincipal !== undefined) g.granteeServicePrincipal = input.GranteeServicePrincipal;
  if (input.RetiringPrincipal !== undefined) g.retiringPrincipal = input.RetiringPrincipal;
  if (input.RetiringServicePrincipal !== undefined) g.retiringServicePrincipal = input.RetiringServicePrincipal;
  const c = input.Constraints;
  if (c && (c.EncryptionContextEquals !== undefined || c.EncryptionContextSubset !== undefined || c.SourceArn !== undefined)) {
    g.constraints = {};
    if (c.EncryptionContextSubset !== undefined) g.constraints.EncryptionContextSubset = { ...c.EncryptionContextSubset };
    if (c.EncryptionContextEquals !== undefined) g.constraints.EncryptionContextEquals = { ...c.EncryptionContextEquals };
    if (c.SourceArn !== undefined) g.constraints.SourceArn = c.SourceArn;
  }
  return g;
}

/** Whether a stored grant is the one a request describes, but for its id and creation date. */
function sameGrant(stored: GrantRecord, wanted: Omit<GrantRecord, 'seq'>): boolean {
  const comparable = (g: Omit<GrantRecord, 'seq'>) => ({ ...g, grantId: '', createdAt: 0, operations: [...g.operations].sort() });
  const { seq: _seq, ...rest } = stored;
  return isDeepStrictEqual(comparable(rest), comparable(wanted));
}

export const createGrant = defineOperation('CreateGrant', async (ctx, input) => {
  checkPrincipals(input); // request-level checks come before the key lookup, as the model's do
  checkGrantRequest(input);
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'CreateGrant');
  // KMS resolves the principals (there is no IAM here to ask): a value that can name none is
  // refused in KMS's words (quoted by AWS Lambda's CreateFunction errors and SDK retry code).
  for (const principal of [input.GranteePrincipal, input.RetiringPrincipal])
    if (principal !== undefined && !isGrantPrincipal(principal)) throw new InvalidArnException(`ARN does not refer to a valid principal: ${principal}`);
  checkGrantFitsKey(key.record, key.arn, input.Operations, input.Constraints);
  stopIfDryRun(input);
  const keyId = key.record.keyId;
  const grantId = ctx.store.write(() => {
    // Deleted by another process since it was resolved: as if it had never been found.
    if (!ctx.store.getKey(keyId)) throw new NotFoundException(`Key '${key.arn}' does not exist`);
    const wanted = grantOf(input, keyId, newGrantId(), ctx.now());
    if (input.Name !== undefined) {
      const existing = grantsNamed(ctx.store.db, keyId, input.Name).find((g) => sameGrant(g, wanted));
      if (existing) return existing.grantId;
    }
    // Counted inside the transaction: another process may be adding grants to the same key.
    checkGrantQuota(countGrants(ctx.store.db, keyId), key.arn);
    insertGrant(ctx.store.db, wanted);
    return wanted.grantId;
  });
  return { GrantToken: newGrantToken(grantId, keyId), GrantId: grantId };
});
