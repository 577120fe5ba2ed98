// AWS's rules for alias names, checked after the model's own constraints (length 1–256,
// pattern ^[a-zA-Z0-9:/_-]+$): the `alias/` prefix, the reserved `alias/aws/` prefix, and no
// `:` (KMS refuses it although the model's pattern allows it).
import { errorFor, LimitExceededException, ValidationException } from '../errors.js';
import type { KmsError } from '../errors.js';

export const aliasPrefix = 'alias/';
/** AWS managed keys' aliases: customers cannot create, point or delete them. */
export const reservedAliasPrefix = 'alias/aws/';

/** AWS's own wording, including its link (recorded from AWS). */
const prefixMessage = 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

/**
 * The error AWS raises for an alias name a caller may not create, point or delete, or
 * undefined when the name is acceptable.
 */
export function aliasNameError(aliasName: string): KmsError | undefined {
  if (!aliasName.startsWith(aliasPrefix)) return new ValidationException(prefixMessage);
  // AWS answers the reserved prefix with NotAuthorizedException, a type its model does not
  // list (so no class of our own), with an empty message.
  if (aliasName.startsWith(reservedAliasPrefix)) return errorFor('NotAuthorizedException', '');
  if (aliasName.includes(':') || aliasName.length === aliasPrefix.length)
    return new ValidationException(`${aliasName} contains invalid characters for an alias`);
  return undefined;
}

/** AWS's quota: aliases per KMS key. */
export const ALIASES_PER_KEY = 50;

/** Before an alias is pointed at a key that has `count` aliases already. */
export function checkAliasQuota(count: number, arn: string): void {
  if (count >= ALIASES_PER_KEY) throw new LimitExceededException(`The request would exceed the quota of ${ALIASES_PER_KEY} aliases for ${arn}.`);
}

export function checkAliasName(aliasName: string): void {
  const err = aliasNameError(aliasName);
  if (err) throw err;
}
