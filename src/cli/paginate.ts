// Auto-pagination of the listings, as the AWS CLI does it (its paginate customization over
// botocore's paginators for KMS): a listing is followed from page to page and its items printed
// as one list, without NextMarker or Truncated, unless the command asks for one page itself
// (--marker or --limit, or --no-paginate). --page-size sets each call's Limit; --max-items bounds
// the items printed and, when more are left, adds a NextToken that --starting-token resumes from.
import { operations, shapes, type OperationName } from '../model/service-model.js';
import { UsageError, type ParsedArgs } from './args.js';
import { ParamError } from './params.js';
import { flagsOf } from './names.js';

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
  /** Items of the marker's page already printed (botocore's boto_truncate_amount; may be negative). */
  skip: number;
  /** A page cut by --max-items: botocore writes the amount even when it is 0 or negative. */
  truncated?: boolean;
}

export interface Paging {
  resultKey: string;
  pageSize?: number;
  maxItems?: number;
  start?: Resume;
}

// The NextToken: base64 of the JSON botocore writes (Python's separators, `boto_truncate_amount`
// the items of the marker's page already printed), so a token of either CLI resumes in the other.
function encodeToken(r: Resume): string {
  const marker = r.marker === undefined ? 'null' : JSON.stringify(r.marker).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const amount = r.truncated || r.skip !== 0 ? `, "boto_truncate_amount": ${r.skip}` : '';
  return Buffer.from(`{"Marker": ${marker}${amount}}`).toString('base64');
}

/**
 * A --starting-token, as botocore reads it: its base64 JSON; else the old `marker___N` form; else
 * the text itself as the Marker (the service then judges it). Members other than the Marker are
 * request parameters to botocore, and unknown ones are its parameter error.
 */
function decodeToken(token: string, inputMembers: readonly string[]): Resume {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    t = undefined;
  }
  if (typeof t !== 'object' || t === null || Array.isArray(t)) {
    const old = /^(.*)___(\d+)$/.exec(token);
    return old ? { marker: old[1] || undefined, skip: Number(old[2]) } : { marker: token, skip: 0 };
  }
  const o = t as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'Marker' && k !== 'boto_truncate_amount');
  if (unknown.length > 0)
    throw new ParamError(`Parameter validation failed:\n${unknown.map((k) => `Unknown parameter in input: "${k}", must be one of: ${inputMembers.join(', ')}`).join('\n')}`);
  const skip = o.boto_truncate_amount ?? 0;
  if (!(o.Marker === null || o.Marker === undefined || typeof o.Marker === 'string') || !Number.isSafeInteger(skip))
    throw new ParamError(`Bad starting token: ${token}`);
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
  // The paging flags are the command's, as abbreviable as its others (`--max` for --max-items
  // when no other flag of the command starts so).
  const candidates = [...PAGING_FLAGS, ...flagsOf(op).keys()];
  const flags = args.flags.filter(({ flag: given, values }) => {
    const matches = candidates.filter((c) => c.startsWith(given));
    const flag = candidates.includes(given) || matches.length !== 1 ? given : matches[0]!;
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
export function pagingOf(
  op: OperationName,
  input: Record<string, unknown>,
  args: ParsedArgs,
  flags: Map<string, string>,
  warn: (text: string) => void,
): Paging | undefined {
  const resultKey = RESULT_KEY[op];
  if (resultKey === undefined) return undefined;
  if (args.switches.has('--no-paginate') || input.Marker !== undefined || input.Limit !== undefined) {
    const given = PAGING_FLAGS.filter((f) => flags.has(f));
    if (given.length > 0) throw new ParamError(`Cannot specify --no-paginate along with pagination arguments: ${given.join(', ')}`);
    return undefined;
  }
  const paging: Paging = { resultKey };
  const pageSize = flags.get('--page-size');
  if (pageSize !== undefined) paging.pageSize = integer('--page-size', pageSize);
  const maxItems = flags.get('--max-items');
  if (maxItems !== undefined) {
    const n = integer('--max-items', maxItems);
    // The AWS CLI warns, then botocore cuts the first page as Python slices it: 0 keeps nothing,
    // -N all but the last N (and the NextToken carries that amount).
    if (n <= 0) warn('warning: Non-positive values for --max-items may result in undefined behavior.\n');
    paging.maxItems = n;
  }
  const start = flags.get('--starting-token');
  if (start !== undefined) paging.start = decodeToken(start, Object.keys(shapes[operations[op]!.input ?? '']?.members ?? {}));
  return paging;
}

/** The same marker came back twice: the listing would never end (botocore's error, exit 255). */
export class PaginationError extends Error {
  override readonly name = 'PaginationError';
}

/**
 * Calls the listing page after page: its items as one list, and a NextToken when --max-items left
 * some. `onPage` sees each page's items as they arrive (the AWS CLI prints text output page by page).
 */
export async function paginate(
  paging: Paging,
  input: Record<string, unknown>,
  call: (input: Record<string, unknown>) => Promise<Record<string, unknown>>,
  onPage?: (items: unknown[], page: Record<string, unknown>) => void,
): Promise<{ items: unknown[]; nextToken?: string }> {
  const { maxItems } = paging;
  const pageInput: Record<string, unknown> = { ...input };
  if (paging.pageSize !== undefined) pageInput.Limit = paging.pageSize;
  let skip = paging.start?.skip ?? 0;
  if (paging.start?.marker !== undefined) pageInput.Marker = paging.start.marker;
  const items: unknown[] = [];
  const seen = new Set<string>();
  let next: Resume | undefined;
  for (;;) {
    const out = await call(pageInput);
    const all = Array.isArray(out[paging.resultKey]) ? (out[paging.resultKey] as unknown[]) : [];
    let page = all.slice(skip);
    const skipped = skip;
    skip = 0;
    const more = out.Truncated === true && typeof out.NextMarker === 'string';
    let last = !more;
    if (maxItems !== undefined && items.length + page.length >= maxItems) {
      const keep = maxItems - items.length;
      if (keep < page.length) next = { marker: pageInput.Marker as string | undefined, skip: skipped + keep, truncated: true };
      else if (more) next = { marker: out.NextMarker as string, skip: 0 };
      page = page.slice(0, keep);
      last = true;
    }
    items.push(...page);
    onPage?.(page, out);
    if (last) break;
    const marker = out.NextMarker as string;
    if (seen.has(marker)) throw new PaginationError(`Error during pagination: The same next token was received twice: {'Marker': '${marker}'}`);
    seen.add(marker);
    pageInput.Marker = marker;
  }
  return { items, ...(next ? { nextToken: encodeToken(next) } : {}) };
}
