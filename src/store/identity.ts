// The region and account of a key store's ARNs. The open that creates a store records the ones it
// was given (so does the first open of a store made before they were recorded), and an open that
// names none gets those, not the defaults: a key's ARN must not change from one run to the next
// because EKMS_REGION was set for one of them only (the AWS Encryption SDK, for one, decrypts by
// the key ARN it wrote into each message, and an ARN naming another region is not found). An open
// that names a region or account (the region or accountId option, EKMS_REGION or EKMS_ACCOUNT_ID,
// `ekms --region`) gets what it names, as before.
import type { Store } from './store.js';

const regionMetaName = 'region';
const accountMetaName = 'account_id';

export interface StoreIdentity {
  region: string;
  accountId: string;
}

/** What an open asked for, and whether it named each (false: the defaults). */
export interface RequestedIdentity extends StoreIdentity {
  regionGiven: boolean;
  accountIdGiven: boolean;
}

/**
 * The region and account this open serves: those it named, else those the store recorded (the
 * asked-for ones, recorded now if there are none). Called inside the open's write transaction.
 */
export function storeIdentity(store: Store, asked: RequestedIdentity): StoreIdentity {
  const recorded = (name: string, value: string) => store.setMetaIfAbsent(name, Buffer.from(value, 'utf8')).toString('utf8');
  const region = recorded(regionMetaName, asked.region);
  const accountId = recorded(accountMetaName, asked.accountId);
  return { region: asked.regionGiven ? asked.region : region, accountId: asked.accountIdGiven ? asked.accountId : accountId };
}
