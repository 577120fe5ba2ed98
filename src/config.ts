// Options of Kms.open() and the environment variables they mirror (DESIGN.md §2). Options win
// over the environment; the environment wins over defaults.
import { join, resolve } from 'node:path';

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). Env EKMS_PKCS11_MODULE */
  module: string;
  /** The token is found by label, never by slot number (slots move). Env EKMS_PKCS11_TOKEN_LABEL */
  tokenLabel: string;
  /** The user PIN, or (pinFile) a file holding it; either takes the place of both variables. Env EKMS_PKCS11_PIN */
  pin?: string;
  /** Env EKMS_PKCS11_PIN_FILE */
  pinFile?: string;
}

export interface KmsOptions {
  /** Folder of the key store. Env EKMS_HOME, default ./.ekms */
  home?: string;
  /** Region in ARNs. Env EKMS_REGION, default us-east-1 */
  region?: string;
  /** Account in ARNs. Env EKMS_ACCOUNT_ID, default 111122223333 */
  accountId?: string;
  /** Keep new keys on a PKCS#11 token. Env EKMS_PKCS11_*, each filling in a member left out. */
  pkcs11?: Partial<Pkcs11Options>;
  /** How many unwrapped keys native memory keeps (least recently used are wiped). */
  keyCacheSize?: number;
  /** The clock, for tests that move time (rotation and deletion deadlines). */
  clock?: () => Date;
  /**
   * The audit trail (CloudTrail-shaped JSON lines, one per operation): `false` turns it off,
   * `{ path }` writes it elsewhere. Env EKMS_AUDIT (`off`, or a path); default $EKMS_HOME/audit.log
   */
  audit?: false | { path?: string };
  /**
   * Fixed keys for tests: a JSON (or YAML) file declaring keys with chosen key ids, aliases and
   * material, created when the store is opened if absent (src/fixtures). Accepted only by a store
   * created for testing. Env EKMS_FIXTURES
   */
  fixtures?: string;
  /**
   * Marks a store created by this open as a test store (in its meta table; an existing store is
   * never marked afterwards): only test stores accept fixtures. Env EKMS_TESTING=1
   */
  testing?: boolean;
}

export interface Config {
  home: string;
  /** The region and account of the ARNs once the store is open (store/identity.ts); before, those asked for. */
  region: string;
  accountId: string;
  /** The partition of the ARNs once the store is open (store/identity.ts); before, undefined. */
  partition?: string;
  /** Whether the options or the environment asked for a region, an account (else the defaults). */
  regionGiven: boolean;
  accountIdGiven: boolean;
  pkcs11?: Pkcs11Options;
  keyCacheSize: number;
  clock: () => Date;
  /** Where the audit trail goes; undefined when it is off. */
  audit: { path: string } | undefined;
  /** The fixtures file, absolute; undefined when there is none. */
  fixtures: string | undefined;
  testing: boolean;
}

function resolveAudit(option: KmsOptions['audit'], envValue: string | undefined, home: string): Config['audit'] {
  if (option === false) return undefined;
  if (option?.path) return { path: resolve(option.path) };
  if (option === undefined && envValue !== undefined && envValue !== '') {
    if (/^(off|false|0|no|none)$/i.test(envValue)) return undefined;
    return { path: resolve(envValue) };
  }
  return { path: join(home, 'audit.log') };
}

// Every option name, and those of the endpoint's settings (EKMS_PORT, EKMS_HOST), which a
// configuration shared with `startServer` may carry along.
const optionNames: ReadonlySet<string> = new Set<keyof KmsOptions | 'port' | 'host'>([
  'home', 'region', 'accountId', 'pkcs11', 'keyCacheSize', 'clock', 'audit', 'fixtures', 'testing', 'port', 'host',
]);
const pkcs11OptionNames: ReadonlySet<string> = new Set<keyof Pkcs11Options>(['module', 'tokenLabel', 'pin', 'pinFile']);

/**
 * A misspelt option (`storeDir` for `home`) would otherwise be ignored without a word, and the
 * keys would go to the default folder: warned once per name.
 */
const warned = new Set<string>();
function warnUnknownOptions(options: object): void {
  const unknown = (name: string, known: string) => {
    if (warned.has(name)) return;
    warned.add(name);
    process.emitWarning(`Kms.open: unknown option '${name}' is ignored (the ${known})`, 'EmbeddedKmsWarning');
  };
  for (const name of Object.keys(options))
    if (!optionNames.has(name)) unknown(name, `options are ${[...optionNames].filter((n) => n !== 'port' && n !== 'host').join(', ')}`);
  const pkcs11 = (options as KmsOptions).pkcs11;
  if (typeof pkcs11 === 'object' && pkcs11 !== null)
    for (const name of Object.keys(pkcs11)) if (!pkcs11OptionNames.has(name)) unknown(`pkcs11.${name}`, `pkcs11 options are ${[...pkcs11OptionNames].join(', ')}`);
}

/**
 * A copy of the PKCS#11 options whose PIN is not enumerable: printing or serializing the Kms's
 * configuration (util.inspect(kms), a logger, JSON, a spread copy) never shows it, while code
 * that asks for it by name still gets it (to open another Kms on the same token with
 * kms.config.pkcs11; a copy for another process must name it).
 */
function withHiddenPin(options: Pkcs11Options): Pkcs11Options {
  const { pin, ...rest } = options;
  const copy: Pkcs11Options = { ...rest };
  // A getter: even util.inspect's showHidden shows only `[pin]: [Getter]`.
  if (pin !== undefined) Object.defineProperty(copy, 'pin', { get: () => pin, enumerable: false, configurable: true });
  return copy;
}

/** The most unwrapped keys the native cache may hold (binding/engine.cpp's bound). */
const MAX_KEY_CACHE_SIZE = 1 << 20;

/**
 * An option of the wrong type (a fixtures object for the file's path, a keyCacheSize of '10')
 * fails here, naming the option and what it takes, rather than as a TypeError from deep inside
 * or a message about something else ("cannot create the root key").
 */
function checkOptionTypes(options: KmsOptions): void {
  const o = options as Record<string, unknown>;
  // `secret`: the value is never shown, only its type.
  const wrong = (name: string, takes: string, v: unknown = o[name], secret = false): never => {
    const given =
      v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : secret || v === undefined ? `${typeof v}` : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
    throw new TypeError(`Kms.open: option '${name}' must be ${takes}, not ${given}`);
  };
  for (const name of ['home', 'region', 'accountId'] as const) if (o[name] !== undefined && typeof o[name] !== 'string') wrong(name, 'a string');
  if (o.fixtures !== undefined && typeof o.fixtures !== 'string') wrong('fixtures', 'the path of a fixtures file (JSON or YAML)');
  if (o.testing !== undefined && typeof o.testing !== 'boolean') wrong('testing', 'true or false');
  if (o.clock !== undefined && typeof o.clock !== 'function') wrong('clock', 'a function that returns a Date');
  const size = o.keyCacheSize;
  if (size !== undefined && !(typeof size === 'number' && Number.isInteger(size) && size >= 0 && size <= MAX_KEY_CACHE_SIZE))
    wrong('keyCacheSize', `a whole number from 0 to ${MAX_KEY_CACHE_SIZE}`);
  const audit = o.audit as { path?: unknown } | false | undefined;
  if (audit !== undefined && audit !== false && (typeof audit !== 'object' || audit === null || Array.isArray(audit) || (audit.path !== undefined && typeof audit.path !== 'string')))
    wrong('audit', "false, or { path: '<file>' }");
  if (o.pkcs11 !== undefined && (typeof o.pkcs11 !== 'object' || o.pkcs11 === null || Array.isArray(o.pkcs11)))
    wrong('pkcs11', '{ module, tokenLabel, pin or pinFile }');
  const p = o.pkcs11 as Record<string, unknown> | undefined;
  if (p === undefined) return;
  // No pkcs11 value is shown: a PIN put in the wrong member (pinFile: 918273) is still the PIN.
  // Left out, a member is its variable's (resolveConfig); openNativeToken says what is missing.
  if (p.module !== undefined && typeof p.module !== 'string') wrong('pkcs11.module', 'the path of a PKCS#11 module', p.module, true);
  if (p.tokenLabel !== undefined && typeof p.tokenLabel !== 'string') wrong('pkcs11.tokenLabel', "a string (the token's label)", p.tokenLabel, true);
  if (p.pin !== undefined && typeof p.pin !== 'string') wrong('pkcs11.pin', 'a string', p.pin, true);
  if (p.pinFile !== undefined && typeof p.pinFile !== 'string') wrong('pkcs11.pinFile', 'the path of a file', p.pinFile, true);
}

/**
 * A region name as botocore accepts one (a host label: letters, digits, inner hyphens), with the
 * AWS CLI's message: a region goes into every ARN a store makes, and is recorded for good.
 */
export function checkRegionName(region: string): void {
  if (!/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(region)) throw new RangeError(`Provided region_name '${region}' doesn't match a supported format.`);
}

/** An AWS account id: 12 digits (it goes into every ARN, and is recorded for good). */
function checkAccountId(accountId: string): void {
  if (!/^\d{12}$/.test(accountId)) throw new RangeError(`The account id '${accountId}' is not an AWS account id (12 digits).`);
}

export function resolveConfig(options: KmsOptions = {}, env: NodeJS.ProcessEnv = process.env): Config {
  warnUnknownOptions(options);
  checkOptionTypes(options);
  const given = options.pkcs11;
  const module = given?.module ?? env.EKMS_PKCS11_MODULE;
  let pkcs11: Pkcs11Options | undefined;
  // Each setting as every other: an option wins over its variable, and a variable fills in an
  // option left out (a pinFile from the deployment's EKMS_PKCS11_PIN_FILE beside a module and
  // label in code). The PIN is one setting, given either way: a pin or pinFile option takes the
  // place of both variables. A token label or PIN in the environment without a module is a token
  // configured in part (a variable misspelt, or forgotten by a deployment): refused at open
  // (openNativeToken says what is missing) rather than read as software keys, which the operator
  // did not ask for.
  if (given || module || env.EKMS_PKCS11_TOKEN_LABEL || env.EKMS_PKCS11_PIN || env.EKMS_PKCS11_PIN_FILE) {
    const pinGiven = given?.pin !== undefined || given?.pinFile !== undefined;
    pkcs11 = withHiddenPin({
      module: module ?? '',
      tokenLabel: given?.tokenLabel ?? env.EKMS_PKCS11_TOKEN_LABEL ?? '',
      pin: pinGiven ? given?.pin : env.EKMS_PKCS11_PIN,
      pinFile: pinGiven ? given?.pinFile : env.EKMS_PKCS11_PIN_FILE,
    });
  }
  const home = resolve(options.home ?? env.EKMS_HOME ?? '.ekms');
  const region = options.region ?? env.EKMS_REGION ?? 'us-east-1';
  const accountId = options.accountId ?? env.EKMS_ACCOUNT_ID ?? '111122223333';
  checkRegionName(region);
  checkAccountId(accountId);
  return {
    home,
    region,
    accountId,
    regionGiven: (options.region ?? env.EKMS_REGION) !== undefined,
    accountIdGiven: (options.accountId ?? env.EKMS_ACCOUNT_ID) !== undefined,
    pkcs11,
    keyCacheSize: options.keyCacheSize ?? 10_000,
    clock: options.clock ?? (() => new Date()),
    audit: resolveAudit(options.audit, env.EKMS_AUDIT, home),
    fixtures: options.fixtures !== undefined ? resolve(options.fixtures) : env.EKMS_FIXTURES ? resolve(env.EKMS_FIXTURES) : undefined,
    testing: options.testing ?? /^(1|true|yes|on)$/i.test(env.EKMS_TESTING ?? ''),
  };
}
