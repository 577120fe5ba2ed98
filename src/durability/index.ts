// Backup, restore, root key rotation and escrow: the library functions behind `ekms backup`,
// `ekms restore`, `ekms rotate-root-key` and the escrow commands.
export { backupStore, inspectBackup, type BackupInfo } from './backup.js';
export { DurabilityError } from './errors.js';
export { escrowRootKey, escrowedRootKeyCheckValue, recoverRootKey, type EscrowOptions } from './escrow.js';
export { restoreStore, type RestoreOptions, type RestoreResult } from './restore.js';
export { rotateRootKey, type RootKeyRotation, type RootKeyRotationOptions } from './rotate-root-key.js';
export type { StoreTarget } from './target.js';
