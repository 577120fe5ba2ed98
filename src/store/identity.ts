// The region and account of a key store's ARNs. The open that creates a store records the ones it
// was given (so does the first open of a store made before they were recorded), and an open that
// names none gets those, not the defaults: a key's ARN must not change from one run to the next
// because EKMS_REGION was set for one of them only (the AWS Encryption SDK, for one, decrypts by
// the key ARN it wrote into each message, and an ARN naming another region is not found). An open
// that names a region or account (the region or accountId option, EKMS_REGION or EKMS_ACCOUNT_ID,
// `ekms --region`) gets what it names, as before.
//
// ARNs name the region's partition (arn:aws-cn:… in cn-north-1, keys/arn.ts). Stores made before
// they did gave every region arn:aws:…, and their keys' ARNs must not change either: such a store
// is marked when a version that knows partitions first opens it, and keeps arn:aws.
import { partitionOf } from '../keys/arn.js';
import type { Store } from './store.js';

const regionMetaName = 'region';
const accountMetaName = 'account_id';
/** '1': the store predates partitions in ARNs (all arn:aws); '0': made since. */
const legacyPartitionMetaName = 'arn_partition_legacy';

export interface StoreIdentity {
  region: string;
  accountId: string;
  /** The partition of its ARNs. */
  partition: string;
}

/** What an open asked for, and whether it named each (false: the defaults). */
export interface RequestedIdentity {
  region: string;
  accountId: string;
  regionGiven: boolean;
  accountIdGiven: boolean;
}

/**
 * The region and account this open serves: those it named, else those the store recorded (the
 * asked-for ones, recorded now if there are none). Called inside the open's write transaction.
 */
export function storeIdentity(store: Store, asked: RequestedIdentity, created: boolean): StoreIdentity {
  const recorded = (name: string, value: string) => store.setMetaIfAbsent(name, Buffer.from(value, 'utf8')).toString('utf8');
  const recordedRegion = recorded(regionMetaName, asked.region);
  const recordedAccount = recorded(accountMetaName, asked.accountId);
  const region = asked.regionGiven ? asked.region : recordedRegion;
  const legacy = recorded(legacyPartitionMetaName, created ? '0' : '1') === '1';
  return { region, accountId: asked.accountIdGiven ? asked.accountId : recordedAccount, partition: legacy ? 'aws' : partitionOf(region) };
}
