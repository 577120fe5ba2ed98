// Which key states an operation accepts, and the error AWS raises for each refusal. AWS's
// key-state table: cryptographic operations need an Enabled key; management operations work on
// Disabled keys too; PendingDeletion and PendingImport keys refuse almost everything.
import { DisabledException, KMSInvalidStateException } from '../errors.js';
import type { KeyState } from '../model/types.js';

export type StateRule = 'crypto' | 'manage' | 'any';

export function checkKeyState(state: KeyState, arn: string, rule: StateRule): void {
  if (rule === 'any' || state === 'Enabled') return;
  if (rule === 'manage' && state === 'Disabled') return;
  switch (state) {
    case 'Disabled':
      throw new DisabledException(`${arn} is disabled.`);
    case 'PendingDeletion':
      throw new KMSInvalidStateException(`${arn} is pending deletion.`);
    case 'PendingImport':
      throw new KMSInvalidStateException(`${arn} is pending import.`);
    case 'Unavailable':
      throw new KMSInvalidStateException(`${arn} is unavailable.`);
    default:
      throw new KMSInvalidStateException(`${arn} is in state ${state}, which is not valid for this operation.`);
  }
}
