// Where `ekms --endpoint-url` finds its credentials, region and CA bundle, as the AWS CLI does:
// the command line first, then the environment, then the profile (--profile, AWS_PROFILE or
// `default`) in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials)
// and the config file (AWS_CONFIG_FILE, ~/.aws/config). As in botocore, a profile named on the
// command line outranks the environment's credentials; one named by AWS_PROFILE does not.
// Only static keys are read: SSO, assumed roles and credential processes are not followed.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { RemoteCredentials } from '../client/remote.js';
import type { ParsedArgs } from './args.js';

/** --profile names a profile neither file has (exit 255, as the AWS CLI's). */
export class ProfileNotFoundError extends Error {
  override readonly name = 'ProfileNotFoundError';
}

type Ini = Map<string, Map<string, string>>;

/** The sections of an AWS INI file (`[name]`, `key = value`; `#` and `;` start comments); empty if unreadable. */
function readIni(path: string): Ini {
  const sections: Ini = new Map();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return sections;
  }
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) {
      const name = section[1]!;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current && eq > 0) current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}

export interface RemoteSettings {
  region: string;
  credentials?: RemoteCredentials;
  caBundle?: string;
}

function staticKeys(values: Map<string, string> | undefined): RemoteCredentials | undefined {
  const accessKeyId = values?.get('aws_access_key_id');
  const secretAccessKey = values?.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = values?.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The settings a command sent to an endpoint uses. */
export function remoteSettings(args: ParsedArgs, env: NodeJS.ProcessEnv): RemoteSettings {
  const explicit = args.globals.get('--profile');
  const profile = explicit ?? env.AWS_PROFILE ?? env.AWS_DEFAULT_PROFILE ?? 'default';
  const home = env.HOME ?? homedir();
  const credentialsFile = readIni(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials'));
  const configFile = readIni(env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config'));
  const config = configFile.get(profile === 'default' ? 'default' : `profile ${profile}`);
  const fileKeys = staticKeys(credentialsFile.get(profile)) ?? staticKeys(config);
  if (explicit !== undefined && !credentialsFile.has(profile) && config === undefined)
    throw new ProfileNotFoundError(`The config profile (${profile}) could not be found`);

  const envKeys =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const credentials = args.switches.has('--no-sign-request') ? undefined : explicit !== undefined ? fileKeys : (envKeys ?? fileKeys);
  const region = args.globals.get('--region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? config?.get('region') ?? 'us-east-1';
  const caBundle = args.globals.get('--ca-bundle') ?? env.AWS_CA_BUNDLE ?? config?.get('ca_bundle');
  return { region, ...(credentials ? { credentials } : {}), ...(caBundle ? { caBundle } : {}) };
}
