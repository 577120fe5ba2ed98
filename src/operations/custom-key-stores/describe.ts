// DescribeCustomKeyStores: the configured PKCS#11 token as an AWS_CLOUDHSM custom key store,
// with its ConnectionState. Without a token the list is empty, as for an AWS account with none.
import { InvalidMarkerException, ValidationException } from '../../errors.js';
import type { CustomKeyStoresListEntry } from '../../model/types.js';
import { defineOperation } from '../operation.js';
import { notFound } from './store-of.js';

export const describeCustomKeyStores = defineOperation('DescribeCustomKeyStores', async (ctx, input) => {
  if (input.CustomKeyStoreId !== undefined && input.CustomKeyStoreName !== undefined)
    throw new ValidationException('You cannot specify both CustomKeyStoreId and CustomKeyStoreName.');
  // One store at most, so no page ever has a successor: no marker of ours exists to pass back.
  if (input.Marker !== undefined) throw new InvalidMarkerException('Invalid marker');
  let stores: CustomKeyStoresListEntry[] = ctx.token ? [ctx.token.describe()] : [];
  if (input.CustomKeyStoreId !== undefined) {
    stores = stores.filter((s) => s.CustomKeyStoreId === input.CustomKeyStoreId);
    if (stores.length === 0) throw notFound(input.CustomKeyStoreId);
  }
  if (input.CustomKeyStoreName !== undefined) {
    stores = stores.filter((s) => s.CustomKeyStoreName === input.CustomKeyStoreName);
    if (stores.length === 0) throw notFound(input.CustomKeyStoreName);
  }
  return { CustomKeyStores: stores, Truncated: false };
});
