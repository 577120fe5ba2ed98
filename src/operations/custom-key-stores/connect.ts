// ConnectCustomKeyStore and DisconnectCustomKeyStore for the configured PKCS#11 token.
// Connecting logs in again; as in AWS, a failed connection is not an error of the call: the
// store becomes FAILED and DescribeCustomKeyStores gives the ConnectionErrorCode, until
// DisconnectCustomKeyStore. The state is the key store's: every process on it follows it
// (backends/connection-state.ts). While it is
// disconnected, creating keys in it fails (CustomKeyStoreInvalidStateException), and its keys are
// Unavailable (keys/registry.ts, LoadedKey.state): DescribeKey says so, and their use is refused
// (KMSInvalidStateException) until the store is connected again.
import { recordConnection } from '../../backends/connection-state.js';
import { CustomKeyStoreInvalidStateException } from '../../errors.js';
import { rotationCatchUpFrom } from '../../keys/rotation.js';
import { defineOperation, type OperationContext } from '../operation.js';
import { customKeyStore } from './store-of.js';

export const connectCustomKeyStore = defineOperation('ConnectCustomKeyStore', async (ctx, input) => {
  const token = customKeyStore(ctx, input.CustomKeyStoreId);
  const state = token.describe().ConnectionState;
  if (state === 'FAILED' || state === 'DISCONNECTING')
    throw new CustomKeyStoreInvalidStateException(
      `Custom key store ${input.CustomKeyStoreId} is ${state}; disconnect it before connecting it again.`,
    );
  await token.connect();
  // The outcome is the key store's: a failure makes it FAILED for every process on it, until
  // DisconnectCustomKeyStore (as in AWS, where the state belongs to the custom key store).
  const code = token.connectionErrorCode;
  if (token.connectionState === 'CONNECTED') {
    recordConnection(ctx.store, token.customKeyStoreId, { state: 'CONNECTED' }, ctx.now());
    catchUpRotations(ctx, token.customKeyStoreId);
  } else if (token.connectionState === 'FAILED' && code !== undefined) recordConnection(ctx.store, token.customKeyStoreId, { state: 'FAILED', code }, ctx.now());
  // Its keys are available again: rotations that waited for the connection are due now.
  ctx.keys.onStale?.();
  ctx.additionalEventData = { customKeyStoreName: token.describe().CustomKeyStoreName };
  return {};
});

/**
 * The store's keys whose rotation fell due while they were Unavailable are judged as keys enabled
 * again after their date are (keys/rotation.ts rotationCatchUpFrom): once, now, or on their
 * schedule's next date when their material is younger than a period.
 */
function catchUpRotations(ctx: OperationContext, customKeyStoreId: string): void {
  const now = ctx.now();
  const moved = ctx.store.write(() =>
    ctx.store.dueRotations(now).filter((keyId) => {
      const record = ctx.store.getKey(keyId);
      const from = record?.customKeyStoreId === customKeyStoreId ? rotationCatchUpFrom(ctx.store, record, now) : undefined;
      if (from) ctx.store.updateKey(keyId, { nextRotationDate: from });
      return from !== undefined;
    }),
  );
  for (const keyId of moved) ctx.keys.invalidate(keyId);
}

export const disconnectCustomKeyStore = defineOperation('DisconnectCustomKeyStore', async (ctx, input) => {
  const token = customKeyStore(ctx, input.CustomKeyStoreId);
  const state = token.describe().ConnectionState;
  if (state === 'DISCONNECTED' || state === 'DISCONNECTING')
    throw new CustomKeyStoreInvalidStateException(`Custom key store ${input.CustomKeyStoreId} is ${state}.`);
  // Recorded first: a process that dies now leaves the store disconnected, as it was asked.
  recordConnection(ctx.store, token.customKeyStoreId, { state: 'DISCONNECTED' }, ctx.now());
  await token.disconnect();
  ctx.additionalEventData = { customKeyStoreName: token.describe().CustomKeyStoreName };
  return {};
});
