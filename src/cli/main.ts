// The `ekms` command: `ekms <operation> [--flags]` with the names of `aws kms`, and
// `ekms serve`. Exit codes as the AWS CLI's: 0 success, 252 usage or parameter errors,
// 254 an error response from the service, 255 other failures, 130 interrupted.
import { type, release } from 'node:os';

import { KmsError } from '../errors.js';
import { EndpointConfigError } from '../endpoint/server.js';
import { AccessKeysError } from '../endpoint/access-keys.js';
import type { KmsOptions } from '../config.js';
import { Kms, KeyStoreOpenError } from '../kms.js';
import { EndpointConnectionError } from '../client/remote.js';
import { parseArgs, UnknownOptionsError, UsageError, type ParsedArgs } from './args.js';
import { AwsConfigError } from './aws-config.js';
import { PaginationError } from './paginate.js';
import { operationHelp, topHelp } from './help.js';
import { importKey, importKeyHelp } from './import-key.js';
import { operationForCommand, similarCommands } from './names.js';
import { QueryError } from './output.js';
import { ParamError } from './params.js';
import { runOperation } from './run-operation.js';
import { serve, serveHelp } from './serve.js';
import { DurabilityError, isStoreCommand, runStoreCommand, storeCommandHelp, storeCommandNames } from './store-commands.js';
import { version } from '../version.js';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** For `serve`: resolves with a signal name when it should stop. Default: SIGINT or SIGTERM. */
  waitForStop?(): Promise<string>;
  /** Opens the local key store. Default: Kms.open (tests pass a backend's opener). */
  openKms?(options: KmsOptions): Promise<Kms>;
  /** The terminal's width, when stdout is one. */
  columns?: number;
}

export const EXIT = { ok: 0, interrupted: 130, usage: 252, service: 254, other: 255 } as const;

const USAGE = [
  'usage: ekms [options] <command> [parameters]',
  'To see help text, you can run:',
  '',
  '  ekms help',
  '  ekms <command> help',
  '',
].join('\n');

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = () => on('SIGINT');
    const onTerm = () => on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

const openKms = (options: KmsOptions): Promise<Kms> => Kms.open(options);

/**
 * Writes to stdout. A reader that went away (`| head`) or a full disk ends the output silently,
 * as in the AWS CLI (its formatters ignore IOError): the command's outcome stands.
 */
let stdoutErrorsIgnored = false;
function writeStdout(text: string): void {
  if (!stdoutErrorsIgnored) {
    stdoutErrorsIgnored = true;
    process.stdout.on('error', () => undefined);
  }
  try {
    process.stdout.write(text);
  } catch {
    // written as far as it could be
  }
}

const defaultIO: CliIO = {
  stdout: writeStdout,
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
  // `--output table` turns wide tables vertical past the terminal's width (80 when not a terminal).
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
};

async function dispatch(args: ParsedArgs, io: CliIO): Promise<number> {
  const command = args.command;
  if (command === undefined || command === 'help') {
    if (command === 'help' || args.switches.has('--help')) {
      io.stdout(topHelp());
      return EXIT.ok;
    }
    io.stderr(`${USAGE}\nekms: error: the following arguments are required: command\n`);
    return EXIT.usage;
  }
  if (command === 'serve') {
    if (args.help || args.switches.has('--help')) {
      io.stdout(serveHelp);
      return EXIT.ok;
    }
    // `ekms serve 8080` would serve on the default port: every setting is a flag.
    if (args.positionals.length > 0) throw new UnknownOptionsError(args.positionals, ' ');
    return serve(args, { env: io.env, stdout: io.stdout, stderr: io.stderr, waitForStop: io.waitForStop ?? waitForSignal, openKms: io.openKms ?? openKms });
  }
  if (command === 'import-key') {
    // Not an AWS operation: a convenience over CreateKey and ImportKeyMaterial (import-key.ts).
    if (args.help || args.switches.has('--help')) {
      io.stdout(importKeyHelp);
      return EXIT.ok;
    }
    return importKey(args, { env: io.env, stdout: io.stdout, stderr: io.stderr, openKms: io.openKms ?? openKms });
  }
  if (isStoreCommand(command)) {
    // Backup, restore and root key commands: not AWS operations (store-commands.ts).
    if (args.help || args.switches.has('--help')) {
      io.stdout(storeCommandHelp(command));
      return EXIT.ok;
    }
    await runStoreCommand(command, args, { env: io.env, stdout: io.stdout });
    return EXIT.ok;
  }
  const op = operationForCommand(command);
  if (args.positionals.length > 0) throw new UnknownOptionsError(args.positionals, ' ');
  if (!op) {
    const near = similarCommands(command, ['serve', 'import-key', ...storeCommandNames]);
    const hint = near.length > 0 ? `, maybe you meant:\n\n${near.map((c) => `  * ${c}`).join('\n')}\n` : '';
    throw new UsageError(`argument command: Invalid choice '${command}'; run \`ekms help\` for the list of commands${hint}`);
  }
  if (args.help || args.switches.has('--help')) {
    io.stdout(operationHelp(op));
    return EXIT.ok;
  }
  try {
    await runOperation(op, args, { env: io.env, stdout: io.stdout, stderr: io.stderr, openKms: io.openKms ?? openKms, ...(io.columns ? { columns: io.columns } : {}) });
  } catch (err) {
    if (err instanceof KmsError) {
      const retryInfo = (err as { retryInfo?: string }).retryInfo ?? ''; // run-operation.ts
      io.stderr(`\nAn error occurred (${err.name}) when calling the ${op} operation${retryInfo}: ${err.message}\n`);
      return EXIT.service;
    }
    throw err;
  }
  return EXIT.ok;
}

/** Runs `ekms` with these arguments (without the program name); resolves the exit code. */
export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.switches.has('--version')) {
      // As `aws --version` says it: this program's name and version, then what it runs on.
      io.stdout(`ekms/${version} embedded-kms node/${process.version} ${type()}/${release()}\n`);
      return EXIT.ok;
    }
    return await dispatch(args, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof EndpointConfigError) {
      io.stderr(err instanceof UnknownOptionsError ? `${USAGE}\n${err.message}\n` : `${USAGE}\nekms: error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ParamError || err instanceof QueryError) {
      io.stderr(`\n${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof EndpointConnectionError || err instanceof AwsConfigError || err instanceof PaginationError || err instanceof KeyStoreOpenError || err instanceof AccessKeysError || err instanceof DurabilityError) {
      io.stderr(`\n${err.message}\n`);
      return EXIT.other;
    }
    // Unexpected: print the message only (no stack with values), and keep the exit code apart.
    io.stderr(`\n${(err as Error)?.message ?? String(err)}\n`);
    return EXIT.other;
  }
}
