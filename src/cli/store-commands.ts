// The key store's own commands, which are not AWS operations: `ekms backup <file>`,
// `ekms restore <file>`, `ekms rotate-root-key`, `ekms escrow-root-key <file>` and
// `ekms recover-root-key <file>`. They work on the local store (--home or EKMS_HOME) and print
// JSON like the operations do. Passphrases come from a file or the environment, never from the
// command line (where `ps` would show them).
import { readFileSync } from 'node:fs';

import { resolveConfig } from '../config.js';
import {
  backupStore,
  DurabilityError,
  escrowRootKey,
  recoverRootKey,
  restoreStore,
  rotateRootKey,
} from '../durability/index.js';
import { sqliteCode, sqliteMessage } from '../store/sqlite-hint.js';
import { UnknownOptionsError, UsageError, type ParsedArgs } from './args.js';
import { withCliSettings } from './aws-config.js';
import { applyQuery, outputFormat, render } from './output.js';
import { ParamError } from './params.js';

export interface StoreCommandContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
}

interface Spec {
  usage: string;
  /** Flags that take a value. */
  values: readonly string[];
  /** Flags that are switches. */
  switches: readonly string[];
  positional: boolean;
  run(home: string, file: string | undefined, flags: Map<string, string | true>, ctx: StoreCommandContext): Promise<unknown>;
}

function passphrase(flags: Map<string, string | true>, env: NodeJS.ProcessEnv): Buffer {
  const file = flags.get('--passphrase-file');
  if (typeof file === 'string') {
    // A trailing newline (as `echo` writes it) is not part of the passphrase.
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw new ParamError(`Error parsing parameter '--passphrase-file': cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
    const out = Buffer.from(bytes.subarray(0, end));
    bytes.fill(0);
    return out;
  }
  const fromEnv = env.EKMS_ESCROW_PASSPHRASE;
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  throw new UsageError('a passphrase is required: --passphrase-file <file> or the EKMS_ESCROW_PASSPHRASE environment variable');
}

const commands: Record<string, Spec> = {
  backup: {
    usage: 'ekms backup <file> [--home <dir>]',
    values: [],
    switches: [],
    positional: true,
    async run(home, file) {
      const info = await backupStore(home, file as string);
      return { File: info.file, Keys: info.keys, RootKeyCheckValue: info.rootKeyCheckValue, StoreId: info.storeId, CreatedAt: info.createdAt.toISOString(), SchemaVersion: info.schemaVersion };
    },
  },
  restore: {
    usage: 'ekms restore <file> [--root-key-file <file>] [--replace] [--adopt-token-objects] [--adopt-store-ids <id,...>] [--home <dir>]',
    values: ['--root-key-file', '--adopt-store-ids'],
    switches: ['--replace', '--adopt-token-objects'],
    positional: true,
    async run(home, file, flags) {
      const rootKeyFile = flags.get('--root-key-file');
      const adoptIds = flags.get('--adopt-store-ids');
      const result = await restoreStore(home, file as string, {
        rootKeyFile: typeof rootKeyFile === 'string' ? rootKeyFile : undefined,
        replace: flags.has('--replace'),
        adoptTokenObjects: flags.has('--adopt-token-objects'),
        ...(typeof adoptIds === 'string' ? { adoptStoreIds: adoptIds.split(',').map((id) => id.trim()).filter((id) => id !== '') } : {}),
      });
      return {
        Home: home,
        Keys: result.keys,
        RootKeyCheckValue: result.rootKeyCheckValue,
        StoreId: result.storeId,
        // Said in the output, where a script sees it too: deleting these keys here leaves the
        // objects other stores made on the token, for those stores may still use them.
        ...(result.tokenKeys > 0 && result.storesNotOwned.length > 0
          ? {
              TokenKeys: result.tokenKeys,
              StoresNotOwned: result.storesNotOwned,
              Note: 'the token keys work here, but the token objects that the stores in StoresNotOwned made stay on the token when their keys are deleted here: those stores may still use them. If the store the backup was made from is gone for good, restore with --adopt-token-objects; if others are gone too, name them with --adopt-store-ids.',
            }
          : {}),
      };
    },
  },
  'rotate-root-key': {
    usage: 'ekms rotate-root-key [--keep-previous-root-key-as <file>] [--home <dir>]',
    values: ['--keep-previous-root-key-as'],
    switches: [],
    positional: false,
    async run(home, _file, flags) {
      const keep = flags.get('--keep-previous-root-key-as');
      const r = await rotateRootKey(home, { keepPreviousRootKeyAs: typeof keep === 'string' ? keep : undefined });
      return { PreviousRootKeyCheckValue: r.previousCheckValue, RootKeyCheckValue: r.checkValue, RewrappedKeyMaterials: r.rewrapped };
    },
  },
  'escrow-root-key': {
    usage: 'ekms escrow-root-key <file> [--passphrase-file <file>] [--home <dir>]   (or EKMS_ESCROW_PASSPHRASE)',
    values: ['--passphrase-file'],
    switches: [],
    positional: true,
    async run(home, file, flags, ctx) {
      const secret = passphrase(flags, ctx.env);
      try {
        const r = await escrowRootKey(home, secret, file as string);
        return { File: r.file, RootKeyCheckValue: r.rootKeyCheckValue };
      } finally {
        secret.fill(0);
      }
    },
  },
  'recover-root-key': {
    usage: 'ekms recover-root-key <file> [--passphrase-file <file>] [--home <dir>]   (or EKMS_ESCROW_PASSPHRASE)',
    values: ['--passphrase-file'],
    switches: [],
    positional: true,
    async run(home, file, flags, ctx) {
      const secret = passphrase(flags, ctx.env);
      try {
        const r = await recoverRootKey(file as string, secret, home);
        return { RootKeyFile: r.rootKeyFile, RootKeyCheckValue: r.rootKeyCheckValue };
      } finally {
        secret.fill(0);
      }
    },
  },
};

export function isStoreCommand(command: string): boolean {
  return Object.hasOwn(commands, command);
}

export const storeCommandNames: readonly string[] = Object.keys(commands);

export function storeCommandHelp(command: string): string {
  return `usage: ${commands[command]?.usage ?? command}\n`;
}

/** Runs a store command; DurabilityError messages are the user's to read (exit 255). */
export async function runStoreCommand(command: string, args: ParsedArgs, ctx: StoreCommandContext): Promise<void> {
  const spec = commands[command];
  if (!spec) throw new UsageError(`unknown command ${command}`);
  const flags = new Map<string, string | true>();
  let file: string | undefined;
  for (const { flag, values } of args.flags) {
    if (spec.switches.includes(flag) && values.length === 0) flags.set(flag, true);
    else if (spec.values.includes(flag) && values.length === 1) flags.set(flag, values[0] as string);
    else if (spec.values.includes(flag) && values.length === 0) throw new UsageError(`argument ${flag}: expected one argument`);
    else throw new UnknownOptionsError([flag]);
  }
  if (spec.positional) {
    if (args.positionals.length !== 1) throw new UsageError(`usage: ${spec.usage}`);
    file = args.positionals[0];
  } else if (args.positionals.length > 0) throw new UnknownOptionsError(args.positionals, ' ');
  const home = resolveConfig({ home: args.globals.get('--home') }, ctx.env).home;
  // --query and --output as for every command (AWS_DEFAULT_OUTPUT and a profile's output too),
  // checked before the command runs.
  const output = outputFormat(withCliSettings(args, ctx.env));
  const query = args.globals.get('--query');
  let out: unknown;
  try {
    out = await spec.run(home, file, flags, ctx);
  } catch (err) {
    // SQLite's own words say little ("disk I/O error" for a full disk): with its code and the likely cause.
    const code = sqliteCode(err);
    if (code === undefined) throw err;
    throw new DurabilityError(sqliteMessage(err as Error, code), { cause: err });
  }
  ctx.stdout(render(applyQuery(out, query), output, query !== undefined, { title: command }));
}

export { DurabilityError };
