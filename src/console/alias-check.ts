// The alias field's live check: the very checks CreateAlias makes on a name (the model's
// constraints, then keys/aliases.ts's rules), then whether the name is taken, asked through the
// operation table (DescribeKey resolves an alias) so the answer is the one CreateAlias would give.
import { AlreadyExistsException, NotFoundException } from '../errors.js';
import { checkAliasName } from '../keys/aliases.js';
import type { Kms } from '../kms.js';
import { validateInput } from '../model/validate.js';
import type { Caller } from '../operations/operation.js';

/** Resolves when `aliasName` may be created; rejects with the AWS error CreateAlias would raise. */
export async function checkAliasAvailable(kms: Kms, aliasName: unknown, caller: Partial<Caller>): Promise<void> {
  // Only the name is checked here; the target is a placeholder the model accepts.
  validateInput('CreateAlias', { AliasName: aliasName, TargetKeyId: 'placeholder' });
  const name = aliasName as string;
  checkAliasName(name);
  try {
    await kms.execute('DescribeKey', { KeyId: name }, caller);
  } catch (err) {
    if (err instanceof NotFoundException) return;
    throw err;
  }
  throw new AlreadyExistsException(`An alias with the name ${kms.arns.alias(name)} already exists`);
}
