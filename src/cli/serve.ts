// `ekms serve`: opens the key store, starts the endpoint, and on SIGINT or SIGTERM stops
// accepting, lets requests in flight finish, then closes the store.
import { readFileSync } from 'node:fs';

import { startServer, type AuthMode, type ServerOptions } from '../endpoint/server.js';
import type { KmsOptions } from '../config.js';
import type { Kms } from '../kms.js';
import { UsageError, type ParsedArgs } from './args.js';

export interface ServeContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Resolves with the signal's name when the server should stop. */
  waitForStop(): Promise<string>;
  openKms(options: KmsOptions): Promise<Kms>;
}

const SERVE_FLAGS = new Set(['--host', '--port', '--auth', '--tls-cert', '--tls-key', '--max-body-bytes', '--allowed-host', '--no-console']);

export const serveHelp = [
  'usage: ekms serve [--host <addr>] [--port <n>] [--auth none|sigv4] [--tls-cert <pem> --tls-key <pem>]',
  '                  [--home <dir>] [--region <region>] [--max-body-bytes <n>] [--allowed-host <name>] [--no-console]',
  '',
  'Serves AWS KMS\'s JSON 1.1 API (POST /, X-Amz-Target: TrentService.<Operation>), and the key',
  'console for browsers at / (with --auth sigv4 it asks for an access key id and secret).',
  '  --host           listen address (default $EKMS_HOST or 127.0.0.1)',
  '  --port           port (default $EKMS_PORT or 4599; 0 picks a free one)',
  '  --auth           none (default; loopback addresses only) or sigv4 (access keys from',
  '                   $EKMS_HOME/credentials.json or EKMS_ACCESS_KEYS=AKID:SECRET,...)',
  '  --tls-cert/--tls-key  PEM files: serve HTTPS',
  '  --allowed-host   another Host name to accept (repeatable)',
  '  --no-console     serve the API only, not the key console',
  '',
].join('\n');

function serverOptions(args: ParsedArgs): ServerOptions {
  const opts: ServerOptions = {};
  let cert: string | undefined;
  let key: string | undefined;
  const allowed: string[] = [];
  for (const { flag, values } of args.flags) {
    if (!SERVE_FLAGS.has(flag)) throw new UsageError(`Unknown options: ${flag}`);
    if (flag === '--no-console') {
      if (values.length !== 0) throw new UsageError(`argument ${flag}: expected no argument`);
      opts.console = false;
      continue;
    }
    if (values.length !== 1) throw new UsageError(`argument ${flag}: expected one argument`);
    const v = values[0]!;
    switch (flag) {
      case '--host':
        opts.host = v;
        break;
      case '--port':
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`argument --port: invalid port '${v}'`);
        opts.port = Number(v);
        break;
      case '--auth':
        if (v !== 'none' && v !== 'sigv4') throw new UsageError(`argument --auth: Found invalid choice '${v}'; valid choices: none, sigv4`);
        opts.auth = v as AuthMode;
        break;
      case '--tls-cert':
        cert = v;
        break;
      case '--tls-key':
        key = v;
        break;
      case '--max-body-bytes':
        if (!/^\d+$/.test(v)) throw new UsageError(`argument --max-body-bytes: invalid size '${v}'`);
        opts.maxBodyBytes = Number(v);
        break;
      case '--allowed-host':
        allowed.push(v);
        break;
    }
  }
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) {
    try {
      opts.tls = { cert: readFileSync(cert), key: readFileSync(key) };
    } catch (err) {
      throw new UsageError(`cannot read the TLS certificate or key: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (allowed.length) opts.allowedHosts = allowed;
  return opts;
}

export async function serve(args: ParsedArgs, ctx: ServeContext): Promise<void> {
  const opts = serverOptions(args);
  const home = args.globals.get('--home');
  const region = args.globals.get('--region');
  const kms = await ctx.openKms({ ...(home !== undefined ? { home } : {}), ...(region !== undefined ? { region } : {}) });
  let handle;
  try {
    handle = await startServer(kms, opts);
  } catch (err) {
    await kms.close();
    throw err;
  }
  ctx.stdout(`ekms: serving ${kms.config.home} on ${handle.url} (auth ${handle.auth})\n`);
  if (opts.console !== false) ctx.stdout(`ekms: key console at ${handle.url}/\n`);
  const signal = await ctx.waitForStop();
  ctx.stderr(`ekms: ${signal}: finishing requests in flight\n`);
  await handle.close();
  await kms.close();
  ctx.stderr('ekms: stopped\n');
}
