// The connection state of a custom key store belongs to the key store, as in AWS, not to the
// process that changed it: DisconnectCustomKeyStore writes it into the store's meta table, and
// every Kms on the store (other processes, `ekms serve --workers`, the next CLI command, the next
// open) follows it. A row `custom_key_store_disconnected:<id>` (when, ISO 8601) means that
// the store was disconnected and not connected since; ConnectCustomKeyStore removes it once the
// token is connected again. A connection that failed (FAILED) stays this process's own: others
// keep what the store says.
import type { Store } from '../store/store.js';
import type { TokenBackend } from './token.js';

const metaName = (customKeyStoreId: string): string => `custom_key_store_disconnected:${customKeyStoreId}`;

export function storedAsDisconnected(store: Store, customKeyStoreId: string): boolean {
  return store.getMeta(metaName(customKeyStoreId)) !== undefined;
}

/** Records what DisconnectCustomKeyStore (false) or a successful ConnectCustomKeyStore (true) did. */
export function recordConnection(store: Store, customKeyStoreId: string, connected: boolean, now: Date): void {
  if (connected) store.deleteMeta(metaName(customKeyStoreId));
  else store.setMeta(metaName(customKeyStoreId), Buffer.from(now.toISOString()));
}

/**
 * Brings this process's token to the state the store records, when another Kms changed it:
 * disconnects a connected token, connects a disconnected one (a failure then makes it FAILED
 * here, as a ConnectCustomKeyStore of this process would). Undefined when nothing is to be done.
 * A token this process is connecting or disconnecting is left alone: that call records its own
 * outcome when it ends (a Connect removes the record only once connected, so the record still
 * says disconnected while it logs in).
 */
export function followConnection(store: Store, token: TokenBackend): Promise<void> | undefined {
  const disconnected = storedAsDisconnected(store, token.customKeyStoreId);
  const state = token.connectionState;
  // A disconnect that fails still leaves the token disconnected here (Pkcs11Backend.disconnect).
  if (disconnected && state === 'CONNECTED') return token.disconnect().catch(() => undefined);
  if (!disconnected && state === 'DISCONNECTED') return token.connect();
  return undefined;
}
