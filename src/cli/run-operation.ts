// `ekms <operation> [--flags]`: builds the wire-form input from the flags, runs it through the
// local key store (kms.execute, via the same codec as the endpoint) or a remote endpoint, and
// prints the response as the AWS CLI does.
import type { KmsOptions } from '../config.js';
import type { Kms } from '../kms.js';
import { RemoteKms } from '../client/remote.js';
import { KmsError } from '../errors.js';
import { decodeInput, encodeOutput } from '../model/codec.js';
import { operations, shapes, type OperationName } from '../model/service-model.js';
import { UnknownOptionsError, UsageError, type ParsedArgs } from './args.js';
import { profileOf, remoteSettings, withCliSettings } from './aws-config.js';
import { abbreviated, flagsOf, kebab, requiredMembers } from './names.js';
import { applyQuery, asParsed, forDisplay, outputFormat, render, type TimestampFormat } from './output.js';
import { firstPageInput, maxItemsWarning, paginate, pagingOf, splitPagingFlags, unpagedFlagsInput } from './paginate.js';
import { checkParams } from './param-check.js';
import { generateSkeleton } from './skeleton.js';
import { cliInputJson, cliInputYaml, memberValue, ParamError, type BinaryFormat, type ParamContext } from './params.js';

export interface RunContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Opens the local key store (tests pass a backend's opener). */
  openKms(options: KmsOptions): Promise<Kms>;
  /** The terminal's width, when stdout is one (`--output table`). */
  columns?: number;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`argument ${flag}: Found invalid choice '${value}'; valid choices: ${allowed.join(', ')}`);
  return value as T;
}

/** What `flag` (in full or abbreviated) stands for among the command's flags; undefined for an unknown one. */
function flagDef<T>(flags: ReadonlyMap<string, T>, flag: string): T | undefined {
  return flags.get(flag) ?? flags.get(abbreviated(flag, flags));
}

/** The wire-form input of `op` from --cli-input-json and the command's flags (flags win). */
export function buildInput(op: OperationName, args: ParsedArgs): Record<string, unknown> {
  const ctx: ParamContext = {
    binaryFormat: choice<BinaryFormat>('--cli-binary-format', args.globals.get('--cli-binary-format'), ['base64', 'raw-in-base64-out'], 'base64'),
  };
  const inputShape = operations[op]!.input;
  const json = args.globals.get('--cli-input-json');
  const yaml = args.globals.get('--cli-input-yaml');
  if (json !== undefined && yaml !== undefined) throw new ParamError('Only one --cli-input- parameter may be specified.');
  const fromJson = json !== undefined ? cliInputJson(inputShape, json, ctx) : yaml !== undefined ? cliInputYaml(inputShape, yaml, ctx) : {};
  const input: Record<string, unknown> = { ...fromJson };
  const flags = flagsOf(op);
  const unknown: string[] = [];
  for (const { flag, values } of args.flags) {
    const def = flagDef(flags, flag);
    if (!def) {
      unknown.push(flag, ...values);
      continue;
    }
    if (shapes[def.shape]?.type === 'boolean') {
      // A boolean member: `--x` is true, `--no-x` false; neither takes a value.
      if (values.length) throw new UnknownOptionsError(values);
      input[def.member] = !def.negated;
      continue;
    }
    input[def.member] = memberValue(flag, def.shape, values, ctx);
  }
  if (unknown.length) throw new UnknownOptionsError(unknown);
  const missing = requiredMembers(op).filter((m) => input[m] === undefined);
  // With a --cli-input-* the AWS CLI leaves required members to botocore's validation, whose
  // words these are; without, argparse's.
  if (missing.length && (json !== undefined || yaml !== undefined))
    throw new ParamError(`Parameter validation failed:\n${missing.map((m) => `Missing required parameter in input: "${m}"`).join('\n')}`);
  if (missing.length) throw new UsageError(`the following arguments are required: ${missing.map((m) => `--${kebab(m)}`).join(', ')}`);
  return input;
}

const SKELETON = '--generate-cli-skeleton';

/** Whether `flag` is --generate-cli-skeleton, in full or as a unique prefix among the command's flags and it. */
function isSkeletonFlag(op: OperationName, flag: string): boolean {
  if (flag === SKELETON) return true;
  if (!SKELETON.startsWith(flag) || flagsOf(op).has(flag)) return false;
  return abbreviated(flag, new Map<string, unknown>([...flagsOf(op), [SKELETON, undefined]])) === SKELETON;
}

/** Runs the operation and prints its output. AWS errors propagate as KmsError. */
export async function runOperation(op: OperationName, given: ParsedArgs, ctx: RunContext): Promise<void> {
  // A template for --cli-input-json instead of a call: no required flags, nothing sent.
  const skeleton = given.flags.find((f) => isSkeletonFlag(op, f.flag));
  if (skeleton) {
    // Other flags are not read, but an unknown one is argparse's error all the same.
    const flags = flagsOf(op);
    const others = splitPagingFlags(op, given).args.flags.filter((f) => f !== skeleton && flagDef(flags, f.flag) === undefined);
    if (others.length) throw new UnknownOptionsError(others.flatMap((f) => [f.flag, ...f.values]));
    return ctx.stdout(generateSkeleton(operations[op]!.input, skeleton.values));
  }
  // The config files are read once: for the output settings and, with --endpoint-url, the credentials.
  const profile = profileOf(given, ctx.env);
  const parsed = withCliSettings(given, ctx.env, profile);
  const output = outputFormat(parsed);
  const tsFormat = choice<TimestampFormat>('--cli-timestamp-format', parsed.globals.get('--cli-timestamp-format'), ['iso8601', 'wire'], 'iso8601');
  choice('--color', parsed.globals.get('--color'), ['on', 'off', 'auto'], 'auto'); // accepted and ignored: no colors are printed
  const query = parsed.globals.get('--query');
  const { args, paging: pagingFlags } = splitPagingFlags(op, parsed);
  const wireInput = buildInput(op, args);
  checkParams(operations[op]!.input, wireInput);
  const paging = pagingOf(op, wireInput, args, pagingFlags);
  const warning = maxItemsWarning(pagingFlags);
  if (warning) ctx.stderr(warning);
  const unpaged = paging ? undefined : unpagedFlagsInput(wireInput, pagingFlags);
  if (unpaged) checkParams(operations[op]!.input, unpaged);
  // --page-size is the request's Limit, and --starting-token may set its Marker: checked as
  // botocore checks them, before anything is sent.
  if (paging) checkParams(operations[op]!.input, firstPageInput(paging, wireInput));
  const table = { title: op, ...(ctx.columns ? { width: ctx.columns } : {}) };
  const print = (wire: Record<string, unknown>, page = false) =>
    ctx.stdout(render(applyQuery(forDisplay(operations[op]!.output, wire, tsFormat), query), output, query !== undefined, table, page));

  let call: (input: Record<string, unknown>) => Promise<Record<string, unknown>>;
  let done = async () => {};
  // Surrounding spaces are dropped, as the AWS CLI drops them.
  const endpoint = args.globals.get('--endpoint-url')?.trim();
  if (endpoint !== undefined) {
    if (!/^https?:\/\//i.test(endpoint))
      throw new ParamError(`Bad value for --endpoint-url "${endpoint}": scheme is missing.  Must be of the form http://<hostname>/ or https://<hostname>/`);
    const { region, credentials, caBundle } = remoteSettings(args, ctx.env, profile);
    const remote = new RemoteKms({
      endpoint,
      region,
      ...(credentials ? { credentials } : {}),
      ...(caBundle !== undefined ? { caBundle } : {}),
      ...(args.switches.has('--no-verify-ssl') ? { verifyTls: false } : {}),
    });
    // Read as botocore reads a response (output.ts asParsed): another endpoint's may hold members
    // in another order, nulls, or members newer than our model.
    call = async (input) => asParsed(operations[op]!.output, await remote.call(op, input)) as Record<string, unknown>;
  } else {
    const r = args.globals.get('--region');
    const home = args.globals.get('--home');
    const kms = await ctx.openKms({ ...(home !== undefined ? { home } : {}), ...(r !== undefined ? { region: r } : {}) });
    call = async (input) => encodeOutput(op, await kms.execute(op, decodeInput(op, input) as never, { kind: 'cli' }));
    done = () => kms.close();
  }
  // botocore's standard retry mode (the AWS CLI v2's default) marks every error of a command
  // allowed one attempt as having reached its retries, and the AWS CLI says so.
  const attempts = ctx.env.AWS_MAX_ATTEMPTS ?? profile.values?.get('max_attempts');
  const mode = ctx.env.AWS_RETRY_MODE ?? profile.values?.get('retry_mode') ?? 'standard';
  if (attempts?.trim() === '1' && mode !== 'legacy') {
    const once = call;
    call = (input) =>
      once(input).catch((err: unknown) => {
        if (err instanceof KmsError) Object.assign(err, { retryInfo: ' (reached max retries: 0)' });
        throw err;
      });
  }
  try {
    if (!paging) return print(await call(wireInput));
    const key = paging.resultKey;
    if (output === 'text') {
      // The AWS CLI prints text page by page (its query applied to each), then the NextToken.
      const { nextToken } = await paginate(paging, wireInput, call, (items) => print({ [key]: items }));
      if (nextToken !== undefined) print({ NextToken: { NextToken: nextToken } });
      return;
    }
    if (output === 'yaml-stream') {
      // Each page as it came (its NextMarker and Truncated too), its items cut to --max-items.
      await paginate(paging, wireInput, call, (items, page) => print({ ...page, [key]: items }, true));
      return;
    }
    const { items, nextToken } = await paginate(paging, wireInput, call);
    print({ [key]: items, ...(nextToken !== undefined ? { NextToken: nextToken } : {}) });
  } finally {
    await done();
  }
}
