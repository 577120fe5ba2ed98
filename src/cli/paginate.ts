// Auto-pagination of the listings, as the AWS CLI does it (its paginate customization over
// botocore's paginators for KMS): a listing is followed from page to page and its items printed
// as one list, without NextMarker or Truncated, unless the command asks for one page itself
// (--marker or --limit, or --no-paginate). --page-size sets each call's Limit; --max-items bounds
// the items printed and, when more are left, adds a NextToken that --starting-token resumes from.
import type { OperationName } from '../model/service-model.js';
import { UsageError, type ParsedArgs } from './args.js';

/** The listings, and the member that holds their items (botocore's paginators-1.json for KMS). */
const RESULT_KEY: Partial<Record<OperationName, string>> = {
  DescribeCustomKeyStores: 'CustomKeyStores',
  ListAliases: 'Aliases',
  ListGrants: 'Grants',
  ListKeyPolicies: 'PolicyNames',
  ListKeyRotations: 'Rotations',
  ListKeys: 'Keys',
  ListResourceTags: 'Tags',
  ListRetirableGrants: 'Grants',
};

const PAGING_FLAGS = ['--starting-token', '--page-size', '--max-items'] as const;

/** Where a NextToken resumes: the marker of the page it stopped in, and the items of that page already printed. */
interface Resume {
  marker: string | undefined;
  skip: number;
}

export interface Paging {
  resultKey: string;
  pageSize?: number;
  maxItems?: number;
  start?: Resume;
}

// The NextToken: base64 of JSON, as botocore's (its `boto_truncate_amount` is the items of the
// marker's page already printed). Opaque to users; only --starting-token reads it.
function encodeToken(r: Resume): string {
  return Buffer.from(JSON.stringify({ Marker: r.marker ?? null, ...(r.skip > 0 ? { boto_truncate_amount: r.skip } : {}) })).toString('base64');
}

function decodeToken(token: string): Resume {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    t = undefined;
  }
  const o = t as { Marker?: unknown; boto_truncate_amount?: unknown } | undefined;
  const skip = o?.boto_truncate_amount ?? 0;
  if (typeof o !== 'object' || o === null || !(o.Marker === null || o.Marker === undefined || typeof o.Marker === 'string') || !Number.isSafeInteger(skip) || (skip as number) < 0)
    throw new UsageError(`Bad starting token: ${token}`);
  return { marker: typeof o.Marker === 'string' ? o.Marker : undefined, skip: skip as number };
}

function integer(flag: string, value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new UsageError(`argument ${flag}: invalid int value: '${value}'`);
  return Number(value);
}

/**
 * The command's flags without the paging ones, and those: only a listing has them (elsewhere
 * they stay, and are unknown options, as with `aws kms`).
 */
export function splitPagingFlags(op: OperationName, args: ParsedArgs): { args: ParsedArgs; paging: Map<string, string> } {
  const paging = new Map<string, string>();
  if (RESULT_KEY[op] === undefined) return { args, paging };
  const flags = args.flags.filter(({ flag, values }) => {
    if (!(PAGING_FLAGS as readonly string[]).includes(flag)) return true;
    if (values.length !== 1) throw new UsageError(`argument ${flag}: expected one argument`);
    paging.set(flag, values[0]!);
    return false;
  });
  return { args: { ...args, flags }, paging };
}

/**
 * How to page `op` with this input, or undefined for one call: not a listing, --no-paginate, or
 * a page asked for by its Marker or Limit (which turns pagination off, as in the AWS CLI).
 */
export function pagingOf(op: OperationName, input: Record<string, unknown>, args: ParsedArgs, flags: Map<string, string>): Paging | undefined {
  const resultKey = RESULT_KEY[op];
  if (resultKey === undefined) return undefined;
  if (args.switches.has('--no-paginate') || input.Marker !== undefined || input.Limit !== undefined) {
    if (flags.size > 0) throw new UsageError(`Cannot specify --no-paginate along with pagination arguments: ${[...flags.keys()].join(', ')}`);
    return undefined;
  }
  const paging: Paging = { resultKey };
  const pageSize = flags.get('--page-size');
  if (pageSize !== undefined) paging.pageSize = integer('--page-size', pageSize);
  const maxItems = flags.get('--max-items');
  if (maxItems !== undefined) paging.maxItems = integer('--max-items', maxItems);
  const start = flags.get('--starting-token');
  if (start !== undefined) paging.start = decodeToken(start);
  return paging;
}

/** Calls the listing page after page; its items as one list, and a NextToken when --max-items left some. */
export async function paginate(
  paging: Paging,
  input: Record<string, unknown>,
  call: (input: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const { resultKey, maxItems } = paging;
  const pageInput: Record<string, unknown> = { ...input };
  if (paging.pageSize !== undefined) pageInput.Limit = paging.pageSize;
  let skip = paging.start?.skip ?? 0;
  if (paging.start?.marker !== undefined) pageInput.Marker = paging.start.marker;
  const items: unknown[] = [];
  let next: Resume | undefined;
  for (;;) {
    const out = await call(pageInput);
    const all = Array.isArray(out[resultKey]) ? (out[resultKey] as unknown[]) : [];
    const page = all.slice(skip);
    const skipped = skip;
    skip = 0;
    const more = out.Truncated === true && typeof out.NextMarker === 'string';
    if (maxItems !== undefined && items.length + page.length >= maxItems) {
      const keep = Math.max(0, maxItems - items.length);
      items.push(...page.slice(0, keep));
      if (keep < page.length) next = { marker: pageInput.Marker as string | undefined, skip: skipped + keep };
      else if (more) next = { marker: out.NextMarker as string, skip: 0 };
      break;
    }
    items.push(...page);
    if (!more) break;
    pageInput.Marker = out.NextMarker;
  }
  return { [resultKey]: items, ...(next ? { NextToken: encodeToken(next) } : {}) };
}
