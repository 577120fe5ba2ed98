// Key and alias identifiers as AWS accepts them: key id, key ARN, alias name, alias ARN.
export type KeyRef =
  | { kind: 'keyId'; keyId: string }
  | { kind: 'keyArn'; keyId: string; partition: string; region: string; account: string }
  | { kind: 'alias'; aliasName: string }
  | { kind: 'aliasArn'; aliasName: string; partition: string; region: string; account: string };

// The partition of a region, as AWS's ARNs name it (botocore's endpoint rules): China and
// GovCloud keys are `arn:aws-cn:…` and `arn:aws-us-gov:…`, never `arn:aws:…`. Longest prefix first.
const partitions: readonly (readonly [prefix: string, partition: string])[] = [
  ['us-gov-', 'aws-us-gov'],
  ['us-isob-', 'aws-iso-b'],
  ['us-isof-', 'aws-iso-f'],
  ['us-iso-', 'aws-iso'],
  ['eu-isoe-', 'aws-iso-e'],
  ['eusc-', 'aws-eusc'],
  ['cn-', 'aws-cn'],
];

/** The ARN partition of `region`: `aws` unless the region belongs to another partition. */
export function partitionOf(region: string): string {
  for (const [prefix, partition] of partitions) if (region.startsWith(prefix)) return partition;
  return 'aws';
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Multi-Region key ids: mrk- and 32 hex digits.
const mrk = /^mrk-[0-9a-f]{32}$/;
const arnPattern = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export function isKeyId(s: string): boolean {
  return uuid.test(s) || mrk.test(s);
}

/** Parses what a caller passed as KeyId; undefined when it is none of the four forms. */
export function parseKeyRef(s: string): KeyRef | undefined {
  if (isKeyId(s)) return { kind: 'keyId', keyId: s };
  if (s.startsWith('alias/')) return { kind: 'alias', aliasName: s };
  const m = arnPattern.exec(s);
  if (!m) return undefined;
  const [, partition, region, account, type, rest] = m as unknown as [string, string, string, string, string, string];
  if (type === 'key') return isKeyId(rest) ? { kind: 'keyArn', keyId: rest, partition, region, account } : undefined;
  return { kind: 'aliasArn', aliasName: `alias/${rest}`, partition, region, account };
}

export class Arns {
  readonly partition: string;

  /** `partition`: the store's (store/identity.ts), by default the region's. */
  constructor(
    readonly region: string,
    readonly accountId: string,
    partition?: string,
  ) {
    this.partition = partition ?? partitionOf(region);
  }

  key(keyId: string): string {
    return `arn:${this.partition}:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  alias(aliasName: string): string {
    return `arn:${this.partition}:kms:${this.region}:${this.accountId}:${aliasName}`;
  }

  /** The account's root principal, as key policies and grants name it. */
  accountRoot(): string {
    return `arn:${this.partition}:iam::${this.accountId}:root`;
  }

  /** Whether an ARN's partition, region and account are this store's. */
  isLocal(ref: { partition: string; region: string; account: string }): boolean {
    return ref.partition === this.partition && ref.region === this.region && ref.account === this.accountId;
  }
}

