// `ekms <operation> [--flags]`: builds the wire-form input from the flags, runs it through the
// local key store (kms.execute, via the same codec as the endpoint) or a remote endpoint, and
// prints the response as the AWS CLI does.
import type { KmsOptions } from '../config.js';
import type { Kms } from '../kms.js';
import { RemoteKms } from '../client/remote.js';
import { decodeInput, encodeOutput } from '../model/codec.js';
import { operations, shapes, type OperationName } from '../model/service-model.js';
import { UsageError, type ParsedArgs } from './args.js';
import { remoteSettings } from './aws-config.js';
import { flagsOf, kebab, requiredMembers } from './names.js';
import { applyQuery, forDisplay, render, type OutputFormat, type TimestampFormat } from './output.js';
import { paginate, pagingOf, splitPagingFlags } from './paginate.js';
import { checkParams } from './param-check.js';
import { cliInputJson, memberValue, type BinaryFormat, type ParamContext } from './params.js';

export interface RunContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  /** Opens the local key store (tests pass a backend's opener). */
  openKms(options: KmsOptions): Promise<Kms>;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`argument ${flag}: Found invalid choice '${value}'; valid choices: ${allowed.join(', ')}`);
  return value as T;
}

/** The wire-form input of `op` from --cli-input-json and the command's flags (flags win). */
export function buildInput(op: OperationName, args: ParsedArgs): Record<string, unknown> {
  const ctx: ParamContext = {
    binaryFormat: choice<BinaryFormat>('--cli-binary-format', args.globals.get('--cli-binary-format'), ['base64', 'raw-in-base64-out'], 'base64'),
  };
  const inputShape = operations[op]!.input;
  const fromJson = args.globals.has('--cli-input-json') ? cliInputJson(inputShape, args.globals.get('--cli-input-json')!, ctx) : {};
  const input: Record<string, unknown> = { ...fromJson };
  const flags = flagsOf(op);
  const unknown: string[] = [];
  for (const { flag, values } of args.flags) {
    const def = flags.get(flag);
    if (!def) {
      unknown.push(flag, ...values);
      continue;
    }
    if (shapes[def.shape]?.type === 'boolean') {
      // A boolean member: `--x` is true, `--no-x` false; neither takes a value.
      if (values.length) throw new UsageError(`Unknown options: ${values.join(', ')}`);
      input[def.member] = !def.negated;
      continue;
    }
    input[def.member] = memberValue(flag, def.shape, values, ctx);
  }
  if (unknown.length) throw new UsageError(`Unknown options: ${unknown.join(', ')}`);
  const missing = requiredMembers(op).filter((m) => input[m] === undefined);
  if (missing.length) throw new UsageError(`the following arguments are required: ${missing.map((m) => `--${kebab(m)}`).join(', ')}`);
  return input;
}

/** Runs the operation and prints its output. AWS errors propagate as KmsError. */
export async function runOperation(op: OperationName, parsed: ParsedArgs, ctx: RunContext): Promise<void> {
  const output = choice<OutputFormat>('--output', parsed.globals.get('--output'), ['json', 'text'], 'json');
  const tsFormat = choice<TimestampFormat>('--cli-timestamp-format', parsed.globals.get('--cli-timestamp-format'), ['iso8601', 'wire'], 'iso8601');
  const query = parsed.globals.get('--query');
  const { args, paging: pagingFlags } = splitPagingFlags(op, parsed);
  const wireInput = buildInput(op, args);
  checkParams(operations[op]!.input, wireInput);
  const paging = pagingOf(op, wireInput, args, pagingFlags);

  let wireOutput: Record<string, unknown>;
  const endpoint = args.globals.get('--endpoint-url');
  if (endpoint !== undefined) {
    const { region, credentials, caBundle } = remoteSettings(args, ctx.env);
    const remote = new RemoteKms({
      endpoint,
      region,
      ...(credentials ? { credentials } : {}),
      ...(caBundle !== undefined ? { caBundle } : {}),
      ...(args.switches.has('--no-verify-ssl') ? { verifyTls: false } : {}),
    });
    const call = (input: Record<string, unknown>) => remote.call(op, input);
    wireOutput = paging ? await paginate(paging, wireInput, call) : await call(wireInput);
  } else {
    const r = args.globals.get('--region');
    const home = args.globals.get('--home');
    const kms = await ctx.openKms({ ...(home !== undefined ? { home } : {}), ...(r !== undefined ? { region: r } : {}) });
    try {
      const call = async (input: Record<string, unknown>) => encodeOutput(op, await kms.execute(op, decodeInput(op, input) as never, { kind: 'cli' }));
      wireOutput = paging ? await paginate(paging, wireInput, call) : await call(wireInput);
    } finally {
      await kms.close();
    }
  }
  const shown = applyQuery(forDisplay(operations[op]!.output, wireOutput, tsFormat), query);
  ctx.stdout(render(shown, output, query !== undefined));
}
