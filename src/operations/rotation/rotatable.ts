// The checks every rotation operation makes, in AWS's order (recorded: a disabled asymmetric key
// is DisabledException, an enabled one UnsupportedOperationException): the key, its state, then
// whether keys of its kind rotate at all.
import type { KmsError } from '../../errors.js';
import type { LoadedKey } from '../../keys/registry.js';
import { rotationRefusal } from '../../keys/rotation.js';
import { checkKeyState } from '../../keys/state.js';
import type { OperationContext } from '../operation.js';

export function rotatableKey(
  ctx: OperationContext,
  operation: 'EnableKeyRotation' | 'DisableKeyRotation' | 'RotateKeyOnDemand',
  keyId: string,
  refusal: (key: LoadedKey) => KmsError | undefined = rotationRefusal,
): LoadedKey {
  // AWS documents these KeyIds as "key ID or key ARN": no aliases.
  const key = ctx.keys.resolve(keyId, { aliases: false });
  checkKeyState(key, operation);
  const refused = refusal(key);
  if (refused) throw refused;
  return key;
}
