// Which operation is allowed in which key state, and the error each refusal raises: AWS's
// key-state table (developer guide, "Key states of AWS KMS keys") as one table. Every
// operation that acts on an existing key checks it here, after resolving the key and before
// anything else (AWS reports the state before the key usage or the algorithm).
//
// Cells AWS marks "?" (allowed only for some keys: imported material, custom key stores) are
// allowed here; the operation itself refuses the key for its origin. Where AWS documents two
// possible errors for a key pending deletion (DisabledException or KMSInvalidStateException),
// the table uses KMSInvalidStateException, which is what AWS returns today.
import { DisabledException, KMSInvalidStateException, KmsError, UnsupportedOperationException } from '../errors.js';
import type { KeyState } from '../model/types.js';
import type { KeyRecord } from '../store/records.js';

/** The key states of AWS's table. Other states (Creating, Updating, …) are refused by all but read-only operations. */
export const tableStates = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable'] as const;
export type TableState = (typeof tableStates)[number];

/** What a cell says: allowed, or which refusal. */
export type Cell =
  | 'ok'
  /** DisabledException: `<arn> is disabled.` */
  | 'disabled'
  /** KMSInvalidStateException: `<arn> is pending deletion.` */
  | 'pendingDeletion'
  /** KMSInvalidStateException: `<arn> is pending import.` */
  | 'pendingImport'
  /** KMSInvalidStateException: `<arn> is unavailable.` */
  | 'unavailable'
  /** KMSInvalidStateException: `<arn> is not pending deletion.` (CancelKeyDeletion) */
  | 'notPendingDeletion'
  /** UnsupportedOperationException: `<arn> origin is <origin> which is not valid for this operation.` */
  | 'origin';

export type Row = Readonly<Record<TableState, Cell>>;

// The row shapes AWS's table repeats.
/** Cryptographic use of the key (and CreateGrant). */
const use: Row = { Enabled: 'ok', Disabled: 'disabled', PendingDeletion: 'pendingDeletion', PendingImport: 'pendingImport', Unavailable: 'unavailable' };
/** Reading and listing: every state. */
const any: Row = { Enabled: 'ok', Disabled: 'ok', PendingDeletion: 'ok', PendingImport: 'ok', Unavailable: 'ok' };
/** Changing a key's metadata: every state but PendingDeletion. */
const manage: Row = { ...any, PendingDeletion: 'pendingDeletion' };
/** Enabling and disabling: not while pending import or deletion. An unavailable key accepts it (AWS applies it when the key becomes available). */
const toggle: Row = { ...any, PendingDeletion: 'pendingDeletion', PendingImport: 'pendingImport' };
// Unavailable: only a key in a disconnected custom key store is. AWS refuses rotation and imported
// material for such keys by their origin (UnsupportedOperationException); here token keys may
// rotate and hold imported material (README, "Where it deliberately differs"), so while their
// store is disconnected these operations refuse them for their state, as cryptographic use does.
/** Automatic rotation settings: a pending-import key has imported material. */
const rotationSettings: Row = { Enabled: 'ok', Disabled: 'disabled', PendingDeletion: 'pendingDeletion', PendingImport: 'origin', Unavailable: 'unavailable' };
/** Importing key material: allowed in any state but PendingDeletion; the operation refuses keys that cannot hold imported material. */
const importing: Row = { ...any, PendingDeletion: 'pendingDeletion', Unavailable: 'unavailable' };
/** Deleting imported material: a key pending deletion too (AWS then leaves its state alone); on a PendingImport key it has no effect. */
const deletingImport: Row = { ...any, Unavailable: 'unavailable' };

export const keyStateTable = {
  CancelKeyDeletion: { Enabled: 'notPendingDeletion', Disabled: 'notPendingDeletion', PendingDeletion: 'ok', PendingImport: 'notPendingDeletion', Unavailable: 'notPendingDeletion' },
  CreateAlias: manage,
  CreateGrant: { ...use, Unavailable: 'ok' },
  Decrypt: use,
  DeleteAlias: any,
  DeleteImportedKeyMaterial: deletingImport,
  DeriveSharedSecret: use,
  DescribeKey: any,
  DisableKey: toggle,
  DisableKeyRotation: rotationSettings,
  EnableKey: toggle,
  EnableKeyRotation: rotationSettings,
  Encrypt: use,
  GenerateDataKey: use,
  GenerateDataKeyPair: use,
  GenerateDataKeyPairWithoutPlaintext: use,
  GenerateDataKeyWithoutPlaintext: use,
  GenerateMac: use,
  GetKeyLastUsage: any,
  GetKeyPolicy: any,
  GetKeyRotationStatus: { ...any, PendingImport: 'origin' },
  GetParametersForImport: importing,
  GetPublicKey: use,
  ImportKeyMaterial: importing,
  ListAliases: any,
  ListGrants: any,
  ListKeyPolicies: any,
  ListKeyRotations: any,
  ListResourceTags: any,
  PutKeyPolicy: any,
  ReEncrypt: use,
  ReplicateKey: use,
  RetireGrant: any,
  RevokeGrant: any,
  RotateKeyOnDemand: use,
  ScheduleKeyDeletion: { ...any, PendingDeletion: 'pendingDeletion' },
  Sign: use,
  TagResource: manage,
  UntagResource: manage,
  /** The alias's new target key; the key it named before may be in any state. */
  UpdateAlias: manage,
  UpdateKeyDescription: manage,
  UpdatePrimaryRegion: use,
  Verify: use,
  VerifyMac: use,
} as const satisfies Record<string, Row>;

export type StateCheckedOperation = keyof typeof keyStateTable;

export function isStateChecked(operation: string): operation is StateCheckedOperation {
  return Object.hasOwn(keyStateTable, operation);
}

/** The row for an operation; an operation missing from the table is treated as cryptographic use. */
export function rowFor(operation: string): Row {
  return isStateChecked(operation) ? keyStateTable[operation] : use;
}

function isTableState(state: KeyState): state is TableState {
  return (tableStates as readonly string[]).includes(state);
}

/** The cell for an operation in a state. States outside AWS's table only allow read-only operations. */
export function cellFor(operation: string, state: KeyState): Cell {
  const row = rowFor(operation);
  if (isTableState(state)) return row[state];
  return row === any ? 'ok' : 'unavailable';
}

/** The error of a refusal, in AWS's words. */
export function refusal(cell: Exclude<Cell, 'ok'>, arn: string, record: Pick<KeyRecord, 'origin' | 'state'>): KmsError {
  switch (cell) {
    case 'disabled':
      return new DisabledException(`${arn} is disabled.`);
    case 'pendingDeletion':
      return new KMSInvalidStateException(`${arn} is pending deletion.`);
    case 'pendingImport':
      return new KMSInvalidStateException(`${arn} is pending import.`);
    case 'notPendingDeletion':
      return new KMSInvalidStateException(`${arn} is not pending deletion.`);
    case 'origin':
      return new UnsupportedOperationException(`${arn} origin is ${record.origin} which is not valid for this operation.`);
    case 'unavailable':
      return record.state === 'Unavailable'
        ? new KMSInvalidStateException(`${arn} is unavailable.`)
        : new KMSInvalidStateException(`${arn} is in state ${record.state}, which is not valid for this operation.`);
  }
}

/**
 * Throws AWS's error when `operation` may not act on this key in its current state: `state` when
 * given (a loaded key's, Unavailable while its custom key store is disconnected), else the record's.
 */
export function checkKeyState(key: { readonly record: Pick<KeyRecord, 'origin' | 'state'>; readonly arn: string; readonly state?: KeyState }, operation: string): void {
  const state = key.state ?? key.record.state;
  const cell = cellFor(operation, state);
  if (cell !== 'ok') throw refusal(cell, key.arn, { origin: key.record.origin, state });
}
