// `ekms serve`: opens the key store, starts the endpoint, and on SIGINT or SIGTERM stops
// accepting, lets requests in flight finish, then closes the store. With --workers N, N
// processes (node:cluster) serve the same port on the same store: the event loop of one process
// is the limit of one server, and the store is made for several processes at once.
import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

import { checkServerConfig, startServer, type AuthMode, type ServerOptions } from '../endpoint/server.js';
import { DEFAULT_MAX_BODY_BYTES } from '../endpoint/wire.js';
import type { KmsOptions } from '../config.js';
import type { Kms } from '../kms.js';
import { UnknownOptionsError, UsageError, type ParsedArgs } from './args.js';

export interface ServeContext {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Resolves with the signal's name when the server should stop. */
  waitForStop(): Promise<string>;
  openKms(options: KmsOptions): Promise<Kms>;
}

const SERVE_FLAGS = new Set(['--host', '--port', '--auth', '--tls-cert', '--tls-key', '--max-body-bytes', '--allowed-host', '--no-console', '--workers']);
const MAX_WORKERS = 64;
const DEATH_WINDOW_MS = 60_000;
const MAX_DEATHS_PER_WINDOW = 10;
/** How long after a worker's exit with code 0 the primary decides it was stopped alone. */
const ALONE_AFTER_MS = 250;

export const serveHelp = [
  'usage: ekms serve [--host <addr>] [--port <n>] [--auth none|sigv4] [--tls-cert <pem> --tls-key <pem>]',
  '                  [--home <dir>] [--region <region>] [--max-body-bytes <n>] [--allowed-host <name>] [--no-console]',
  '                  [--workers <n>]',
  '',
  'Serves AWS KMS\'s JSON 1.1 API (POST /, X-Amz-Target: TrentService.<Operation>), and the key',
  'console for browsers at / (with --auth sigv4 it asks for an access key id and secret).',
  '  --host           listen address (default $EKMS_HOST or 127.0.0.1)',
  '  --port           port (default $EKMS_PORT or 4599; 0 picks a free one)',
  '  --auth           none (default; loopback addresses only) or sigv4 (access keys from',
  '                   $EKMS_HOME/credentials.json or EKMS_ACCESS_KEYS=AKID:SECRET,...)',
  '  --tls-cert/--tls-key  PEM files: serve HTTPS',
  '  --allowed-host   another Host name to accept (repeatable)',
  `  --max-body-bytes the largest request body accepted (default ${DEFAULT_MAX_BODY_BYTES}); larger get 413`,
  '  --no-console     serve the API only, not the key console',
  '  --workers        processes serving the same port and key store (default 1); more than one',
  '                   serves the API only (the console keeps its sessions in one process)',
  '',
].join('\n');

function serverOptions(args: ParsedArgs): { opts: ServerOptions; workers: number } {
  const opts: ServerOptions = {};
  let workers = 1;
  let cert: string | undefined;
  let key: string | undefined;
  const allowed: string[] = [];
  for (const { flag, values } of args.flags) {
    if (!SERVE_FLAGS.has(flag)) throw new UnknownOptionsError([flag]);
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
      case '--workers':
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_WORKERS)
          throw new UsageError(`argument --workers: expected a number of processes from 1 to ${MAX_WORKERS}, not '${v}'`);
        workers = Number(v);
        break;
    }
  }
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) {
    const read = (flag: string, path: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (err) {
        throw new UsageError(`argument ${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    };
    opts.tls = { cert: read('--tls-cert', cert), key: read('--tls-key', key) };
    try {
      // OpenSSL's own words ("PEM routines::no start line") name neither the file nor TLS.
      createSecureContext(opts.tls);
    } catch (err) {
      throw new UsageError(`--tls-cert ${cert} and --tls-key ${key} are not a PEM certificate and its private key (${(err as Error).message})`);
    }
  }
  if (allowed.length) opts.allowedHosts = allowed;
  return { opts, workers };
}

function kmsOptions(args: ParsedArgs): KmsOptions {
  const home = args.globals.get('--home');
  const region = args.globals.get('--region');
  return { ...(home !== undefined ? { home } : {}), ...(region !== undefined ? { region } : {}) };
}

/** Serves until stopped; resolves the exit code. */
export async function serve(args: ParsedArgs, ctx: ServeContext): Promise<number> {
  const { opts, workers } = serverOptions(args);
  if (workers > 1) {
    opts.console = false;
    if (cluster.isPrimary) return superviseWorkers(workers, opts, args, ctx);
    // The primary checked this configuration and said its warnings, once for all workers.
    opts.warnings = false;
  }
  if (!cluster.isWorker) return serveHere(opts, args, ctx);
  try {
    return await serveHere(opts, args, ctx);
  } finally {
    // The IPC channel to the primary would keep this worker alive after it stopped or failed.
    // (cluster.worker.disconnect, not process.disconnect, which exits at once with code 0.) On a
    // Ctrl-C, which signals the primary and every worker at once, the channel may be closing
    // already: the disconnect's write then fails (EPIPE), which is no error of this worker's.
    const worker = cluster.worker;
    if (process.connected && worker) {
      worker.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE' && err.code !== 'ERR_IPC_CHANNEL_CLOSED') throw err;
      });
      worker.disconnect();
    }
  }
}

async function serveHere(opts: ServerOptions, args: ParsedArgs, ctx: ServeContext): Promise<number> {
  const kms = await ctx.openKms(kmsOptions(args));
  let handle;
  try {
    handle = await startServer(kms, opts);
  } catch (err) {
    await kms.close();
    throw err;
  }
  // Listening for the stop signals before saying where we listen: a supervisor (or test) that
  // signals as soon as it reads the address would otherwise find no handler yet, and the
  // signal's default action would kill the process mid-way.
  const stopped = cluster.isWorker ? stopOfWorker(ctx) : ctx.waitForStop();
  if (cluster.isWorker) {
    // One of --workers: the primary prints the address once all are listening.
    process.send?.({ ekmsListening: { url: handle.url, auth: handle.auth, home: kms.config.home } });
  } else {
    ctx.stdout(`ekms: serving ${kms.config.home} on ${handle.url} (auth ${handle.auth})\n`);
    if (opts.console !== false) ctx.stdout(`ekms: key console at ${handle.url}/\n`);
  }
  const signal = await stopped;
  if (!cluster.isWorker) ctx.stderr(`ekms: ${signal}: finishing requests in flight\n`);
  await handle.close();
  await kms.close();
  if (!cluster.isWorker) ctx.stderr('ekms: stopped\n');
  return 0;
}

/** A worker stops on a signal, or when its primary is gone (no orphan keeps the port). */
function stopOfWorker(ctx: ServeContext): Promise<string> {
  return Promise.race([ctx.waitForStop(), new Promise<string>((resolve) => process.once('disconnect', () => resolve('disconnect')))]);
}

interface ListeningMessage {
  ekmsListening: { url: string; auth: string; home: string };
}
const isListening = (m: unknown): m is ListeningMessage => typeof m === 'object' && m !== null && 'ekmsListening' in m;

/**
 * The primary of --workers: opens the store once (creating it, or failing with the reason, before
 * any worker starts) and checks the server's configuration (a refusal, or a warning, is said once,
 * not by every worker), forks the workers, prints the address when all listen, replaces a worker
 * that dies while serving, and on SIGINT or SIGTERM stops them all (each finishes its requests in
 * flight). A worker that dies before listening (the port is taken, say) stops the others: the
 * exit code is its own.
 */
async function superviseWorkers(count: number, opts: ServerOptions, args: ParsedArgs, ctx: ServeContext): Promise<number> {
  const kms = await ctx.openKms(kmsOptions(args));
  try {
    checkServerConfig(kms, opts);
  } finally {
    await kms.close();
  }
  // The workers accept connections themselves, on the listening socket they share. With Node's
  // default round robin, the primary accepts each connection and hands it to a worker; a worker
  // killed while a connection was on its way left that request unanswered for good, its socket
  // held open by the primary (nodejs/node#21746). Now a dead worker's own connections close with
  // it (the client sees a connection error and may retry), and those not yet accepted wait in
  // the socket's queue for the other workers.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  let listening = 0;
  const recentDeaths: number[] = [];
  let up = false; // every first worker listened: later deaths are replaced, not startup failures
  let failure: number | undefined;
  const live = new Set<Worker>();
  let allExited: () => void = () => {};
  const exited = new Promise<void>((resolve) => (allExited = resolve));
  let started: (first: ListeningMessage['ekmsListening'] | undefined) => void = () => {};
  const ready = new Promise<ListeningMessage['ekmsListening'] | undefined>((resolve) => (started = resolve));
  const stopAll = () => {
    stopping = true;
    for (const w of live) w.process.kill('SIGTERM');
  };
  const fork = () => {
    const worker = cluster.fork();
    let listened = false;
    live.add(worker);
    worker.on('message', (m: unknown) => {
      if (!isListening(m) || listened) return;
      listened = true;
      listening += 1;
      if (listening === count && !up) {
        up = true;
        started(m.ekmsListening);
      }
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      if (!stopping && !up && !listened) {
        failure = code ? code : 255;
        ctx.stderr(`ekms: a worker process exited before listening (${signal ?? `exit code ${code}`}); stopping\n`);
        started(undefined);
        stopAll();
      } else if (!stopping && (code !== 0 || signal !== null)) {
        replace(`died (${signal ?? `exit code ${code}`})`, code);
      } else if (!stopping) {
        // Exit code 0: the worker was stopped by a SIGINT or SIGTERM of its own. A Ctrl-C, or a
        // kill of the process group, signals this process at the same moment, and its stop may
        // not have begun yet: one still not stopping a moment later was stopped alone (`kill
        // <worker>`), and is replaced as one that died.
        setTimeout(() => {
          if (!stopping) replace('stopped (exit code 0)', code);
        }, ALONE_AFTER_MS);
      }
      if (live.size === 0 && stopping) allExited();
    });
  };
  const replace = (what: string, code: number | null) => {
    const now = Date.now();
    while (recentDeaths.length > 0 && now - recentDeaths[0]! > DEATH_WINDOW_MS) recentDeaths.shift();
    recentDeaths.push(now);
    if (recentDeaths.length > MAX_DEATHS_PER_WINDOW) {
      // Something kills every worker soon after it starts: replacing them forever helps nobody.
      failure = code ? code : 255;
      ctx.stderr(`ekms: ${recentDeaths.length} worker processes died within a minute; stopping\n`);
      stopAll();
      if (live.size === 0) allExited();
    } else {
      ctx.stderr(`ekms: a worker process ${what}; starting another\n`);
      fork();
    }
  };
  for (let i = 0; i < count; i++) fork();
  const first = await ready;
  if (first === undefined) {
    await exited;
    return failure ?? 255;
  }
  const stopped = Promise.race([ctx.waitForStop(), exited.then(() => '')]); // before the address: see serveHere
  ctx.stdout(`ekms: serving ${first.home} on ${first.url} (auth ${first.auth}, ${count} worker processes)\n`);
  const signal = await stopped;
  if (signal) ctx.stderr(`ekms: ${signal}: finishing requests in flight\n`);
  stopAll();
  if (live.size > 0) await exited;
  ctx.stderr('ekms: stopped\n');
  return failure ?? 0;
}
