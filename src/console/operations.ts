// The KMS operations the console's pages call. The console's KMS route accepts these and no
// others: a stolen console session can manage keys, as the console can, but not use them
// (no Decrypt, Sign or GenerateDataKey through it).
import type { OperationName } from '../model/service-model.js';
import { isImplemented } from '../operations/table.js';

export const consoleOperations: ReadonlySet<OperationName> = new Set<OperationName>([
  'CreateKey',
  'DescribeKey',
  'GetKeyLastUsage',
  'ListKeys',
  'GetPublicKey',
  'CreateAlias',
  'DeleteAlias',
  'ListAliases',
  'TagResource',
  'UntagResource',
  'ListResourceTags',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'UpdateKeyDescription',
  'GetKeyPolicy',
  'PutKeyPolicy',
  'EnableKeyRotation',
  'DisableKeyRotation',
  'GetKeyRotationStatus',
  'RotateKeyOnDemand',
  'DescribeCustomKeyStores',
]);

/** The console's operations this build implements; the page hides or disables the others. */
export function availableConsoleOperations(): OperationName[] {
  return [...consoleOperations].filter((op) => isImplemented(op));
}
