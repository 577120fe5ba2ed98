// The warning for a deletion that leaves token objects because another store made them
// (src/durability/restore.ts: a store restored beside its original owns only what it made or
// took over). Said, since a deletion promises that the material is gone.
import type { TokenBackend } from './token.js';

/** `what`: the deleted thing, e.g. "key <id>" or "key material <id> of key <id>". */
export function warnObjectsLeftToAnotherStore(token: TokenBackend, what: string): void {
  process.emitWarning(
    `embedded-kms: ${what} is deleted, but its objects on PKCS#11 token '${token.describe().CustomKeyStoreName}' stay: another store made them (the one this store was restored from, or a copy of it) and may still use them. ekms restore --adopt-token-objects or --adopt-store-ids makes a restored store their owner.`,
    'EmbeddedKmsWarning',
  );
}
