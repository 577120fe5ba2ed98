// Auto-pagination of the listings, as the AWS CLI does it (its paginate customization over
// botocore's paginators for KMS): a listing is followed from page to page and its items printed
// as one list, without NextMarker or Truncated, unless the command asks for one page itself
// (--marker or --limit, or --no-paginate). --page-size sets each call's Limit; --max-items bounds
// the items printed and, when more are left, adds a NextToken that --starting-token resumes from.
import { pythonJson } from '../client/python-json.js';
import type { OperationName } from '../model/service-model.js';
import { UsageError, type ParsedArgs } from './args.js';
import { ParamError } from './params.js';
import { pythonBase64 } from './python-base64.js';
import { abbreviated, flagsOf } from './names.js';

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

/** Whether the CLI follows this listing from page to page (and takes the paging flags). */
export function isPaginated(op: OperationName): boolean {
  return RESULT_KEY[op] !== undefined;
}

/** Where a NextToken resumes: the marker of the page it stopped in, and the items of that page already printed. */
interface Resume {
  marker: string | undefined;
  /** Items of the marker's page already printed (botocore's boto_truncate_amount; may be negative). */
  skip: number;
  /** A page cut by --max-items: botocore writes the amount even when it is 0 or negative. */
  truncated?: boolean;
}

/** A --starting-token as read: the request members it sets, and the items of the first page to skip. */
interface Start {
  /** Members for the first request (the Marker, unless the token names none); botocore's parameter validation judges them. */
  params: Record<string, unknown>;
  skip: number;
}

export interface Paging {
  resultKey: string;
  pageSize?: number;
  maxItems?: number;
  start?: Start;
}

// The NextToken: base64 of the JSON botocore writes (Python's separators, `boto_truncate_amount`
// the items of the marker's page already printed), so a token of either CLI resumes in the other.
function encodeToken(r: Resume): string {
  const token = { Marker: r.marker ?? null, ...(r.truncated || r.skip !== 0 ? { boto_truncate_amount: r.skip } : {}) };
  return Buffer.from(pythonJson(token)).toString('base64');
}

/** Python's int() of a text, or undefined where it raises ValueError. */
function pythonInt(text: string): number | undefined {
  return /^\s*[+-]?\d+(_\d+)*\s*$/.test(text) ? Number(text.replace(/_/g, '')) : undefined;
}

/** The Python type name of a JSON value (the AWS CLI's messages name it). */
const pythonTypeName = (v: unknown): string =>
  v === null ? 'NoneType' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : Array.isArray(v) ? 'list' : 'dict';

/**
 * A --starting-token, as botocore's paginator reads it: base64 of a JSON object (its
 * `boto_truncate_amount` the items to skip, its other members request members); failing that,
 * the old `marker___N` form, or the text itself as the Marker. `None` stands for no marker (it is
 * what `--query NextToken --output text` prints on the last page), so a loop that passes it back
 * starts over, as with `aws kms`. botocore's own failures on odd tokens are kept, with their
 * texts and exit code 255; a member of the wrong type or length is its parameter validation's
 * (run-operation.ts checks the first request).
 */
function decodeToken(token: string): Start {
  let parsed: unknown;
  let decoded = false;
  const bytes = pythonBase64(token);
  if (bytes !== undefined) {
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      decoded = true;
    } catch {
      decoded = false;
    }
  }
  if (decoded && !Array.isArray(parsed)) {
    if (typeof parsed !== 'object' || parsed === null) throw new ParamError(`'${pythonTypeName(parsed)}' object has no attribute 'pop'`, 255);
    const { boto_encoded_keys: _encoded, boto_truncate_amount: amount = 0, ...members } = parsed as Record<string, unknown>;
    const skip = amount === null ? 0 : typeof amount === 'boolean' ? Number(amount) : amount;
    if (typeof skip !== 'number' || !Number.isInteger(skip)) throw new ParamError('slice indices must be integers or None or have an __index__ method', 255);
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(members)) if (v !== null && v !== 'None') params[k] = v;
    return { params, skip };
  }
  // The old form: for KMS's one input token, `marker___N` (N an int), or the marker alone.
  let parts = token.split('___');
  let skip = 0;
  if (parts.length === 2) {
    const n = pythonInt(parts[1]!);
    if (n !== undefined) {
      skip = n;
      parts = [parts[0]!];
    } else parts = [token];
  }
  if (parts.length > 1) throw new ParamError(`Bad starting token: ${token}`, 255);
  return { params: parts[0] === 'None' ? {} : { Marker: parts[0] }, skip };
}

/** argparse's type=int: Python's int() of the text, or its usage error. */
function integer(flag: string, value: string): number {
  const n = pythonInt(value);
  if (n === undefined) throw new UsageError(`argument ${flag}: invalid int value: '${value}'`);
  return n;
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

/** Whether the command line names `flag` (in full, or by a prefix only it has among the command's flags). */
function named(op: OperationName, args: ParsedArgs, flag: string): boolean {
  const flags = flagsOf(op);
  return args.flags.some(({ flag: given }) => given === flag || abbreviated(given, flags) === flag);
}

/**
 * How to page `op` with this input, or undefined for one call: not a listing, --no-paginate, or
 * a page asked for by --marker or --limit (which turns pagination off, as in the AWS CLI). A
 * Marker or Limit from --cli-input-json does not: the AWS CLI looks at the flags only, then
 * pages from that Marker with that Limit as the page size.
 */
export function pagingOf(
  op: OperationName,
  input: Record<string, unknown>,
  args: ParsedArgs,
  flags: Map<string, string>,
): Paging | undefined {
  const resultKey = RESULT_KEY[op];
  if (resultKey === undefined) return undefined;
  // argparse reads the integers first, whether or not the listing is paged.
  const pageSize = flags.has('--page-size') ? integer('--page-size', flags.get('--page-size')!) : undefined;
  const maxItems = flags.has('--max-items') ? integer('--max-items', flags.get('--max-items')!) : undefined;
  const start = flags.get('--starting-token');
  if (args.switches.has('--no-paginate') || named(op, args, '--marker') || named(op, args, '--limit')) {
    // Python's truth: 0 and an empty token count as not given here (see unpagedFlagsInput).
    const value = { '--starting-token': start, '--page-size': pageSize, '--max-items': maxItems };
    const given = PAGING_FLAGS.filter((f) => value[f] !== undefined && value[f] !== 0 && value[f] !== '');
    if (given.length > 0) throw new PaginationError(`Error during pagination: Cannot specify --no-paginate along with pagination arguments: ${given.join(', ')}`);
    return undefined;
  }
  const paging: Paging = { resultKey };
  if (pageSize !== undefined) paging.pageSize = pageSize;
  // botocore cuts the first page as Python slices it: 0 keeps nothing, -N all but the last N
  // (and the NextToken carries that amount); maxItemsWarning says so first.
  if (maxItems !== undefined) paging.maxItems = maxItems;
  if (start !== undefined) paging.start = decodeToken(start);
  return paging;
}

/**
 * The AWS CLI's warning for a --max-items of 0 or less, given to a listing whose paging flags
 * passed pagingOf (with --limit or --marker too: it warns before it drops them).
 */
export function maxItemsWarning(flags: Map<string, string>): string | undefined {
  const value = flags.get('--max-items');
  const n = value === undefined ? undefined : pythonInt(value);
  if (n === undefined || n > 0) return undefined;
  return 'warning: Non-positive values for --max-items may result in undefined behavior.\n';
}

/**
 * An unpaged listing (--no-paginate, --limit, --marker) given paging flags that Python finds
 * false (0, an empty token): the AWS CLI still puts them in the request as PaginationConfig, which
 * its parameter validation then refuses. The input to validate so, or undefined when none is given.
 */
export function unpagedFlagsInput(input: Record<string, unknown>, flags: Map<string, string>): Record<string, unknown> | undefined {
  // Only a listing has paging flags (splitPagingFlags).
  if (flags.size === 0) return undefined;
  return { ...input, PaginationConfig: Object.fromEntries(flags) };
}

/** The first request of a paginated listing: the command's input, its --page-size as Limit, and what its --starting-token sets. */
export function firstPageInput(paging: Paging, input: Record<string, unknown>): Record<string, unknown> {
  return { ...input, ...(paging.pageSize !== undefined ? { Limit: paging.pageSize } : {}), ...(paging.start?.params ?? {}) };
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
  const pageInput = firstPageInput(paging, input);
  let skip = paging.start?.skip ?? 0;
  const items: unknown[] = [];
  let previous: string | undefined;
  let next: Resume | undefined;
  for (;;) {
    const out = await call(pageInput);
    const all = Array.isArray(out[paging.resultKey]) ? (out[paging.resultKey] as unknown[]) : [];
    let page = all.slice(skip);
    const skipped = skip;
    skip = 0;
    // botocore takes an empty NextMarker for none.
    const more = out.Truncated === true && typeof out.NextMarker === 'string' && out.NextMarker !== '';
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
    if (marker === previous) throw new PaginationError(`Error during pagination: The same next token was received twice: {'Marker': '${marker}'}`);
    previous = marker;
    pageInput.Marker = marker;
  }
  return { items, ...(next ? { nextToken: encodeToken(next) } : {}) };
}
