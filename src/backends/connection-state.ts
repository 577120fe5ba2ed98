// The connection state of a custom key store belongs to the key store, as in AWS, not to the
// process that changed it: ConnectCustomKeyStore and DisconnectCustomKeyStore write it into the
// store's meta table, and every Kms on the store (other processes, `ekms serve --workers`, the
// next CLI command, the next open) follows it.
//
// Rows of the meta table, for a custom key store <id>:
// - `custom_key_store_disconnected:<id>` (when, ISO 8601): the store is not connected; it was
//   disconnected, or its connection failed, and it was not connected since.
// - `custom_key_store_failed:<id>` (a ConnectionErrorCode), beside the row above: the last
//   ConnectCustomKeyStore failed, and the store is FAILED until DisconnectCustomKeyStore, as in
//   AWS. (A version that knows only the first row reads it as DISCONNECTED.)
// - `custom_key_store_label:<id>` (the token label): which token the id is, so that a store
//   recorded as not connected opens when that token cannot be logged in to (pkcs11.ts).
// - `custom_key_store_connections:<id>` (a count): how many ConnectCustomKeyStore calls
//   succeeded. A process whose own connection failed while the store stays CONNECTED (its PIN
//   file, its module, its PIN refused by the token) tries again when this changes: when someone
//   connected the store since, not at every change of the store, each time presenting a PIN that
//   the token may count towards locking the user out.
// No row: CONNECTED. A connection that fails while following another process's Connect stays this
// process's own (it may be this process's PIN file or module): others keep what the store says.
import type { ConnectionErrorCodeType } from '../model/types.js';
import type { Store } from '../store/store.js';
import type { TokenBackend } from './token.js';

const disconnectedName = (customKeyStoreId: string): string => `custom_key_store_disconnected:${customKeyStoreId}`;
const failedName = (customKeyStoreId: string): string => `custom_key_store_failed:${customKeyStoreId}`;
export const labelName = (customKeyStoreId: string): string => `custom_key_store_label:${customKeyStoreId}`;
const connectionsName = (customKeyStoreId: string): string => `custom_key_store_connections:${customKeyStoreId}`;

export type RecordedConnection = { state: 'CONNECTED' } | { state: 'DISCONNECTED' } | { state: 'FAILED'; code: ConnectionErrorCodeType };

/** Reads the store's meta table: an open Store, or a peek at its file (Store.peekMeta). */
export interface MetaReader {
  getMeta(name: string): Buffer | undefined;
}

/** How many connections of the custom key store the store records (custom_key_store_connections). */
function connections(store: MetaReader, customKeyStoreId: string): number {
  const n = Number(store.getMeta(connectionsName(customKeyStoreId))?.toString('utf8') ?? 0);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** The count each token's process saw at its last followConnection. */
const connectionsSeen = new WeakMap<TokenBackend, number>();

/** What the store records of the custom key store's connection. */
export function recordedConnection(store: MetaReader, customKeyStoreId: string): RecordedConnection {
  if (store.getMeta(disconnectedName(customKeyStoreId)) === undefined) return { state: 'CONNECTED' };
  const failed = store.getMeta(failedName(customKeyStoreId));
  return failed === undefined ? { state: 'DISCONNECTED' } : { state: 'FAILED', code: failed.toString('utf8') as ConnectionErrorCodeType };
}

/**
 * Records what ConnectCustomKeyStore (CONNECTED, or FAILED with its code) or
 * DisconnectCustomKeyStore (DISCONNECTED) did, in one transaction. A failed connection is the
 * store's only while the store is not connected: when another process connected it meanwhile,
 * the failure stays this process's own (its PIN file or module may be at fault), and false is
 * returned.
 */
export function recordConnection(store: Store, customKeyStoreId: string, state: RecordedConnection, now: Date): boolean {
  return store.write(() => {
    if (state.state === 'CONNECTED') {
      store.deleteMeta(disconnectedName(customKeyStoreId));
      store.deleteMeta(failedName(customKeyStoreId));
      store.setMeta(connectionsName(customKeyStoreId), Buffer.from(String(connections(store, customKeyStoreId) + 1)));
      return true;
    }
    const connected = store.getMeta(disconnectedName(customKeyStoreId)) === undefined;
    if (state.state === 'FAILED' && connected) return false;
    if (connected) store.setMeta(disconnectedName(customKeyStoreId), Buffer.from(now.toISOString()));
    if (state.state === 'FAILED') store.setMeta(failedName(customKeyStoreId), Buffer.from(state.code));
    else store.deleteMeta(failedName(customKeyStoreId));
    return true;
  });
}

/**
 * Brings this process's token to the state the store records, when another Kms changed it:
 * disconnects a connected token (FAILED, with the recorded code, when the store failed), connects
 * a disconnected one when the store is connected again (a failure then makes it FAILED here
 * only), a failed one only when a connection was recorded since it last looked, and takes
 * DISCONNECTED or FAILED from the record otherwise. Undefined when nothing
 * is to be waited for. A token this process is connecting or disconnecting is left alone: that
 * call records its own outcome when it ends (a Connect removes the record only once connected, so
 * the record still says disconnected while it logs in).
 */
export function followConnection(store: Store, token: TokenBackend): Promise<void> | undefined {
  const recorded = recordedConnection(store, token.customKeyStoreId);
  const state = token.connectionState;
  const count = connections(store, token.customKeyStoreId);
  const connectedSince = connectionsSeen.get(token) !== count;
  connectionsSeen.set(token, count);
  if (state === 'CONNECTING' || state === 'DISCONNECTING') return undefined;
  if (recorded.state === 'CONNECTED') {
    if (state === 'CONNECTED' || (state === 'FAILED' && !connectedSince)) return undefined;
    return token.connect();
  }
  const target = recorded.state;
  const code = recorded.state === 'FAILED' ? recorded.code : undefined;
  if (state === target && token.connectionErrorCode === code) return undefined;
  const adopt = (): void => token.adopt(target, code);
  // A disconnect that fails still leaves the token disconnected here (Pkcs11Backend.disconnect).
  if (state === 'CONNECTED') return token.disconnect().then(adopt, adopt);
  adopt();
  return undefined;
}
