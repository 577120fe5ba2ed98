// Options of Kms.open() and the environment variables they mirror (DESIGN.md §2). Options win
// over the environment; the environment wins over defaults.
import { resolve } from 'node:path';

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  /** The token is found by label, never by slot number (slots move). */
  tokenLabel: string;
  pin?: string;
  pinFile?: string;
}

export interface KmsOptions {
  /** Folder of the key store. Env EKMS_HOME, default ./.ekms */
  home?: string;
  /** Region in ARNs. Env EKMS_REGION, default us-east-1 */
  region?: string;
  /** Account in ARNs. Env EKMS_ACCOUNT_ID, default 111122223333 */
  accountId?: string;
  /** Keep new keys on a PKCS#11 token. Env EKMS_PKCS11_* */
  pkcs11?: Pkcs11Options;
  /** How many unwrapped keys native memory keeps (least recently used are wiped). */
  keyCacheSize?: number;
  /** The clock, for tests that move time (rotation and deletion deadlines). */
  clock?: () => Date;
}

export interface Config {
  home: string;
  region: string;
  accountId: string;
  pkcs11?: Pkcs11Options;
  keyCacheSize: number;
  clock: () => Date;
}

export function resolveConfig(options: KmsOptions = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const module = options.pkcs11?.module ?? env.EKMS_PKCS11_MODULE;
  let pkcs11: Pkcs11Options | undefined;
  if (options.pkcs11) pkcs11 = options.pkcs11;
  else if (module) {
    pkcs11 = {
      module,
      tokenLabel: env.EKMS_PKCS11_TOKEN_LABEL ?? '',
      pin: env.EKMS_PKCS11_PIN,
      pinFile: env.EKMS_PKCS11_PIN_FILE,
    };
  }
  return {
    home: resolve(options.home ?? env.EKMS_HOME ?? '.ekms'),
    region: options.region ?? env.EKMS_REGION ?? 'us-east-1',
    accountId: options.accountId ?? env.EKMS_ACCOUNT_ID ?? '111122223333',
    pkcs11,
    keyCacheSize: options.keyCacheSize ?? 10_000,
    clock: options.clock ?? (() => new Date()),
  };
}
