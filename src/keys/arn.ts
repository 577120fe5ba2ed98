// Key and alias identifiers as AWS accepts them: key id, key ARN, alias name, alias ARN.
export type KeyRef =
  | { kind: 'keyId'; keyId: string }
  | { kind: 'keyArn'; keyId: string; region: string; account: string }
  | { kind: 'alias'; aliasName: string }
  | { kind: 'aliasArn'; aliasName: string; region: string; account: string };

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
  const [, , region, account, type, rest] = m as unknown as [string, string, string, string, string, string];
  if (type === 'key') return isKeyId(rest) ? { kind: 'keyArn', keyId: rest, region, account } : undefined;
  return { kind: 'aliasArn', aliasName: `alias/${rest}`, region, account };
}

export class Arns {
  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  key(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  alias(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${aliasName}`;
  }
}
