// `ekms import-key`: a key made from a key file (PEM or DER private key, or raw symmetric/HMAC key
// bytes), over the ordinary import path: CreateKey with Origin EXTERNAL, GetParametersForImport,
// the material wrapped here with the wrapping public key, ImportKeyMaterial (unwrapped in native
// code), then the aliases. Works on the local key store (--home) or through an endpoint
// (--endpoint-url). Prints the new key's metadata as `ekms describe-key` does.
import { readFileSync } from 'node:fs';

import { RemoteKms, type RemoteCredentials } from '../client/remote.js';
import { checkRegionName, type KmsOptions } from '../config.js';
import { KmsError } from '../errors.js';
import { importMaterial, keyMaterialFor, KeyMaterialError, type CallOperation } from '../fixtures/material.js';
import type { Kms } from '../kms.js';
import { decodeOutput, encodeInput, encodeOutput } from '../model/codec.js';
import { operations, shapes } from '../model/service-model.js';
import type { KeySpec, KeyUsageType, Tag } from '../model/types.js';
import { UnknownOptionsError, UsageError, type ParsedArgs } from './args.js';
import { AwsConfigError, withCliSettings } from './aws-config.js';
import { applyQuery, forDisplay, outputFormat, render } from './output.js';
import { ParamError } from './params.js';
import { cliTimestampMs } from './timestamp.js';

export interface ImportKeyContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  openKms(options: KmsOptions): Promise<Kms>;
}

export const importKeyHelp = [
  'usage: ekms import-key --key-spec <spec> [--key-usage <usage>] --key-file <path>',
  '                       [--description <text>] [--alias <alias/name> ...] [--tags Key=k,Value=v ...]',
  '                       [--custom-key-store-id <id>]',
  '                       [--valid-to <date>] [--home <dir>] [--region <region>] [--endpoint-url <url>]',
  '',
  'Makes a KMS key (Origin EXTERNAL) whose key material comes from a file, the way AWS KMS imports',
  'key material: the material is wrapped with the key\'s GetParametersForImport public key and',
  'imported with ImportKeyMaterial, so it is unwrapped only inside the key store.',
  '  --key-spec     the KMS key spec (SYMMETRIC_DEFAULT, HMAC_256, RSA_2048, ECC_NIST_P256, …)',
  '  --key-usage    required except for SYMMETRIC_DEFAULT keys',
  '  --key-file     asymmetric specs: a private key, PEM (PKCS#8, PKCS#1 or SEC 1) or DER PKCS#8;',
  '                 SYMMETRIC_DEFAULT and HMAC specs: the raw key bytes',
  '  --alias        an alias to create for the key (repeatable)',
  '  --valid-to     when the imported material expires (ISO 8601); default: it does not expire',
  '  --custom-key-store-id  put the key on that PKCS#11 token (DescribeCustomKeyStores lists them);',
  '                 the material is then unwrapped inside the token',
  '',
].join('\n');

const FLAGS = new Set(['--key-spec', '--key-usage', '--key-file', '--description', '--alias', '--tags', '--valid-to', '--custom-key-store-id']);

interface Request {
  spec: KeySpec;
  usage?: KeyUsageType;
  file: string;
  description?: string;
  customKeyStoreId?: string;
  aliases: string[];
  tags: Tag[];
  validTo?: Date;
}

function parse(args: ParsedArgs): Request {
  const one = new Map<string, string>();
  const aliases: string[] = [];
  const tags: Tag[] = [];
  for (const { flag, values } of args.flags) {
    if (!FLAGS.has(flag)) throw new UnknownOptionsError([flag]);
    if (flag === '--alias') {
      if (values.length === 0) throw new UsageError('argument --alias: expected at least one argument');
      aliases.push(...values);
      continue;
    }
    if (flag === '--tags') {
      for (const v of values) {
        const m = /^(?:TagKey|Key)=([^,]*),(?:TagValue|Value)=(.*)$/.exec(v);
        if (!m) throw new ParamError(`Error parsing parameter '--tags': expected Key=<key>,Value=<value>, got '${v}'`);
        tags.push({ TagKey: m[1] as string, TagValue: m[2] as string });
      }
      continue;
    }
    if (values.length !== 1) throw new UsageError(`argument ${flag}: expected one argument`);
    one.set(flag, values[0] as string);
  }
  const spec = one.get('--key-spec');
  const file = one.get('--key-file');
  const missing = [spec === undefined ? '--key-spec' : '', file === undefined ? '--key-file' : ''].filter(Boolean);
  if (missing.length) throw new UsageError(`the following arguments are required: ${missing.join(', ')}`);
  const specs = shapes.KeySpec?.enum ?? [];
  if (!specs.includes(spec as string)) throw new UsageError(`argument --key-spec: Found invalid choice '${spec}'; valid choices: ${specs.join(', ')}`);
  const req: Request = { spec: spec as KeySpec, file: file as string, aliases, tags };
  const usage = one.get('--key-usage');
  if (usage !== undefined) req.usage = usage as KeyUsageType;
  const description = one.get('--description');
  if (description !== undefined) req.description = description;
  const customKeyStoreId = one.get('--custom-key-store-id');
  if (customKeyStoreId !== undefined) req.customKeyStoreId = customKeyStoreId;
  const validTo = one.get('--valid-to');
  if (validTo !== undefined) {
    // Read as import-key-material's --valid-to is, as the AWS CLI reads it: no zone named is UTC.
    const ms = cliTimestampMs(validTo);
    if (Number.isNaN(ms)) throw new ParamError(`Error parsing parameter '--valid-to': not a date: '${validTo}'`);
    req.validTo = new Date(ms);
  }
  return req;
}

function credentials(args: ParsedArgs, env: NodeJS.ProcessEnv): RemoteCredentials | undefined {
  if (args.switches.has('--no-sign-request') || !env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/**
 * Refuses, before any key is made, an --alias that CreateAlias would refuse for its name or
 * because it exists: the key would be made and imported, then left without its alias (and a
 * second attempt would make a second key).
 */
async function checkAliasesFree(call: CallOperation, aliases: readonly string[]): Promise<void> {
  for (const alias of aliases) {
    if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(alias) || alias.length > 256 || alias.startsWith('alias/aws/'))
      throw new ParamError(`argument --alias: '${alias}' is not a name for a new alias (alias/ and then letters, digits, /, _ or -; not alias/aws/); nothing was imported`);
    const named = await call('DescribeKey', { KeyId: alias }).then(
      (out) => out.KeyMetadata?.KeyId,
      (err: unknown) => {
        if (err instanceof KmsError && err.name === 'NotFoundException') return undefined;
        throw err;
      },
    );
    if (named !== undefined) throw new ParamError(`argument --alias: ${alias} exists already (it names key ${named}); nothing was imported`);
  }
}

/** Runs `ekms import-key`; resolves the exit code (0, or 254 for an error response). */
export async function importKey(args: ParsedArgs, ctx: ImportKeyContext): Promise<number> {
  const req = parse(args);
  let bytes: Buffer;
  try {
    bytes = readFileSync(req.file);
  } catch (err) {
    throw new ParamError(`Error parsing parameter '--key-file': cannot read ${req.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let material: Buffer;
  try {
    material = keyMaterialFor(req.spec, bytes, `--key-file ${req.file}`);
  } catch (err) {
    if (err instanceof KeyMaterialError) throw new ParamError(`Error parsing parameter '--key-file': ${err.message}`);
    throw err;
  } finally {
    bytes.fill(0);
  }

  const output = outputFormat(withCliSettings(args, ctx.env));
  const endpoint = args.globals.get('--endpoint-url');
  let call: CallOperation;
  let close = async () => {};
  if (endpoint !== undefined) {
    const creds = credentials(args, ctx.env);
    const region = args.globals.get('--region') ?? ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    try {
      checkRegionName(region);
    } catch (err) {
      throw new AwsConfigError((err as Error).message);
    }
    const remote = new RemoteKms({
      endpoint,
      region,
      ...(creds ? { credentials: creds } : {}),
      ...(args.switches.has('--no-verify-ssl') ? { verifyTls: false } : {}),
    });
    call = (async (op, input) => decodeOutput(op, await remote.call(op, encodeInput(op, input)))) as CallOperation;
  } else {
    const home = args.globals.get('--home');
    const region = args.globals.get('--region');
    const kms = await ctx.openKms({ ...(home !== undefined ? { home } : {}), ...(region !== undefined ? { region } : {}) });
    call = ((op, input) => kms.execute(op, input, { kind: 'cli' })) as CallOperation;
    close = () => kms.close();
  }
  let step = 'CreateKey';
  let keyId: string | undefined;
  try {
    await checkAliasesFree(call, req.aliases);
    const created = await call('CreateKey', {
      Origin: 'EXTERNAL',
      KeySpec: req.spec,
      ...(req.usage ? { KeyUsage: req.usage } : {}),
      ...(req.description !== undefined ? { Description: req.description } : {}),
      ...(req.customKeyStoreId !== undefined ? { CustomKeyStoreId: req.customKeyStoreId } : {}),
      ...(req.tags.length ? { Tags: req.tags } : {}),
    });
    keyId = created.KeyMetadata?.KeyId as string;
    step = 'ImportKeyMaterial';
    await importMaterial(call, keyId, material, req.validTo ? { validTo: req.validTo } : {});
    step = 'CreateAlias';
    for (const alias of req.aliases) await call('CreateAlias', { AliasName: alias, TargetKeyId: keyId });
    step = 'DescribeKey';
    const described = await call('DescribeKey', { KeyId: keyId });
    const wire = encodeOutput('DescribeKey', described);
    const query = args.globals.get('--query');
    ctx.stdout(render(applyQuery(forDisplay(operations.DescribeKey!.output, wire, 'iso8601'), query), output, query !== undefined, { title: 'ImportKey' }));
    return 0;
  } catch (err) {
    if (err instanceof KmsError) {
      ctx.stderr(`\nAn error occurred (${err.name}) when calling the ${step} operation: ${err.message}\n`);
      // A key whose material did not go in is of no use: it goes, after AWS's shortest waiting period.
      if (keyId !== undefined && step === 'ImportKeyMaterial') {
        const scheduled = await call('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }).then(
          () => true,
          () => false,
        );
        if (scheduled) ctx.stderr(`The key ${keyId} made for the import is scheduled for deletion in 7 days.\n`);
      }
      if (keyId !== undefined && step === 'CreateAlias') ctx.stderr(`The key ${keyId} was made and its material imported; the alias refused, and any after it, were not made.\n`);
      return 254;
    }
    throw err;
  } finally {
    material.fill(0);
    await close();
  }
}
