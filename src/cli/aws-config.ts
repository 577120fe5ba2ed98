// Where `ekms --endpoint-url` finds its credentials, region and CA bundle, and every command its
// output settings, as the AWS CLI does (botocore's session and credential chain): the command
// line first, then the environment, then the profile (--profile, else AWS_DEFAULT_PROFILE or
// AWS_PROFILE, else `default`) of the config file (AWS_CONFIG_FILE, ~/.aws/config) with the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials) merged over it. A
// profile named on the command line outranks the environment's keys; one named in the
// environment does not; a named profile that neither file has is an error. Only static keys are
// read: SSO, assumed roles and credential processes are not followed.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { RemoteCredentials } from '../client/remote.js';
import { checkRegionName } from '../config.js';
import type { ParsedArgs } from './args.js';
import { OUTPUT_FORMATS } from './output.js';

/** The profile cannot be used: unknown, or half of a key pair (exit 255, as the AWS CLI's). */
export class AwsConfigError extends Error {
  override readonly name = 'AwsConfigError';
}

type Section = Map<string, string>;

/** The sections of an INI file as Python's configparser reads it (`=` or `:`; keys in lower case). */
function readIni(path: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return sections;
  }
  let current: Section | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1]!;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const at = line.search(/[=:]/);
    if (current && at > 0) current.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return sections;
}

/** A path as botocore opens it: environment variables and `~` expanded. */
function expandPath(path: string, env: NodeJS.ProcessEnv, home: string): string {
  const vars = path.replace(/\$(\w+)|\$\{(\w+)\}/g, (whole, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? whole);
  return vars === '~' || vars.startsWith('~/') ? home + vars.slice(1) : vars;
}

/** `profile "name with spaces"` → its name, as Python's shlex.split reads it; undefined if it is not one. */
function profileName(section: string): string | undefined {
  const parts = section.match(/"[^"]*"|'[^']*'|\S+/g)?.map((p) => p.replace(/^(["'])(.*)\1$/, '$2'));
  return parts?.length === 2 && parts[0] === 'profile' ? parts[1] : undefined;
}

/** Every profile: the config file's (`[default]`, `[profile x]`) with the credentials file's merged over them. */
function profiles(configFile: Map<string, Section>, credentialsFile: Map<string, Section>): Map<string, Section> {
  const out = new Map<string, Section>();
  for (const [section, values] of configFile) {
    const name = section === 'default' ? 'default' : section.startsWith('profile') ? profileName(section) : undefined;
    if (name !== undefined) out.set(name, new Map(values));
  }
  for (const [name, values] of credentialsFile) out.set(name, new Map([...(out.get(name) ?? []), ...values]));
  return out;
}

export interface RemoteSettings {
  region: string;
  credentials?: RemoteCredentials;
  caBundle?: string;
}

function keyPair(
  source: string,
  names: [string, string, string],
  get: (name: string) => string | undefined,
): RemoteCredentials | undefined {
  const [idName, secretName, tokenName] = names;
  const accessKeyId = get(idName);
  const secretAccessKey = get(secretName);
  if (!accessKeyId && !secretAccessKey) return undefined;
  // botocore's environment provider looks no further when the access key is empty: the next
  // provider (the profile's keys) answers, or none does.
  if (source === 'env' && !accessKeyId) return undefined;
  if (!accessKeyId || !secretAccessKey)
    throw new AwsConfigError(`Partial credentials found in ${source}, missing: ${accessKeyId ? secretName : idName}`);
  const sessionToken = get(tokenName);
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The profile a command uses, by the rules above; `values` is undefined when neither file has it. */
export function profileOf(args: ParsedArgs, env: NodeJS.ProcessEnv) {
  const explicit = args.globals.get('--profile');
  const named = explicit ?? env.AWS_DEFAULT_PROFILE ?? env.AWS_PROFILE;
  const profile = named ?? 'default';
  const home = env.HOME ?? homedir();
  const credentialsPath = expandPath(env.AWS_SHARED_CREDENTIALS_FILE ?? join('~', '.aws', 'credentials'), env, home);
  const configPath = expandPath(env.AWS_CONFIG_FILE ?? join('~', '.aws', 'config'), env, home);
  const credentialsFile = readIni(credentialsPath);
  const values = profiles(readIni(configPath), credentialsFile).get(profile);
  return { explicit, named, profile, credentialsFile, values };
}
export type Profile = ReturnType<typeof profileOf>;

/**
 * The command line with the AWS CLI's settings from elsewhere as defaults for its global
 * options: the output format from AWS_DEFAULT_OUTPUT or the profile's `output`, and the profile's
 * `cli_binary_format` and `cli_timestamp_format` (scripts written for `aws` rely on them). A
 * profile named (--profile, AWS_DEFAULT_PROFILE, AWS_PROFILE) that neither file has is the AWS
 * CLI's error, locally too: a misspelt profile would otherwise change the output unnoticed.
 */
export function withCliSettings(args: ParsedArgs, env: NodeJS.ProcessEnv, profile: Profile = profileOf(args, env)): ParsedArgs {
  requireFound(profile);
  const { values } = profile;
  const globals = new Map(args.globals);
  const fallback = (flag: string, value: string | undefined) => {
    if (!globals.has(flag) && value !== undefined && value !== '') globals.set(flag, value);
  };
  const output = env.AWS_DEFAULT_OUTPUT ?? values?.get('output');
  // Not blamed on an --output the user never gave: the AWS CLI's own words for it.
  if (!globals.has('--output') && output !== undefined && output !== '' && !(OUTPUT_FORMATS as readonly string[]).includes(output))
    throw new AwsConfigError(`Unknown output type: ${output}`);
  fallback('--output', output);
  fallback('--cli-binary-format', values?.get('cli_binary_format'));
  // `none` is AWS CLI v1's older name for `wire`, still in config files written for it.
  const timestamps = values?.get('cli_timestamp_format');
  fallback('--cli-timestamp-format', timestamps === 'none' ? 'wire' : timestamps);
  return { ...args, globals };
}

function requireFound({ named, values, profile }: Profile): void {
  if (named !== undefined && values === undefined) throw new AwsConfigError(`The config profile (${profile}) could not be found`);
}

/** The settings a command sent to an endpoint uses (`profile`: profileOf's, when already read). */
export function remoteSettings(args: ParsedArgs, env: NodeJS.ProcessEnv, profile: Profile = profileOf(args, env)): RemoteSettings {
  const { explicit, credentialsFile, values } = profile;
  requireFound(profile);

  let credentials: RemoteCredentials | undefined;
  if (!args.switches.has('--no-sign-request')) {
    // botocore's chain: the environment (unless --profile named a profile), then the profile's keys
    // (the credentials file's, which were merged over the config file's).
    const fromEnv = explicit === undefined ? keyPair('env', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'], (n) => env[n]) : undefined;
    const inCredentialsFile = credentialsFile.get(profile.profile);
    credentials =
      fromEnv ??
      keyPair(inCredentialsFile?.has('aws_access_key_id') || inCredentialsFile?.has('aws_secret_access_key') ? 'shared-credentials-file' : 'config-file', ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'], (n) => values?.get(n));
  }
  const region = args.globals.get('--region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? values?.get('region') ?? 'us-east-1';
  try {
    checkRegionName(region);
  } catch (err) {
    throw new AwsConfigError((err as Error).message);
  }
  const caBundle = args.globals.get('--ca-bundle') ?? env.AWS_CA_BUNDLE ?? values?.get('ca_bundle');
  return { region, ...(credentials ? { credentials } : {}), ...(caBundle ? { caBundle } : {}) };
}
