// Baselines for the PKCS#11 (SoftHSM2) backend: the same token driven without us.
//
// 1. The plain C loop of native/bench/pkcs11_sign_loop.c (built by `npm run build:native` into
//    build/native/bench/pkcs11_sign_loop; $EKMS_BENCH_PKCS11_LOOP overrides the path). It makes
//    the PKCS#11 calls our token Sign makes (software SHA-256, C_SignInit + C_Sign, one logged-in
//    session per thread) and prints one JSON line with opsPerSecond. Given --key-id (our key's
//    tokenRef) it signs with the very key object the kms row used. It reports CPU µs/op too
//    (getrusage over the timed loops), a figure the machine's other load moves less.
// 2. pkcs11js (npm, a devDependency): bench/lib/pkcs11js-sign-loop.js in a child Node process
//    (this process has initialised the module already, through us), on the same token and key
//    object, with the same number of signs in flight as the kms row (1 or 64), one session each.
//    By default the module is opened with RTLD_DEEPBIND first, as we and the C loop open it, so
//    the token runs the same (system) OpenSSL in all three; pkcs11js by itself would bind it to
//    the node binary's OpenSSL, whose RSA measured about 10% cheaper here (token time, not
//    binding time). `deepbind: false` measures it that way.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function findCLoop() {
  const candidates = [process.env.EKMS_BENCH_PKCS11_LOOP, join(root, 'build', 'native', 'bench', 'pkcs11_sign_loop'), join(root, 'build', 'Release', 'pkcs11_sign_loop')];
  return candidates.find((p) => p && existsSync(p));
}

/** { opsPerSec } or { unavailable }. `algorithm` is ecdsa-p256 or rsa-2048. */
export function pkcs11CLoop({ token, algorithm, keyId, seconds, threads }) {
  const exe = findCLoop();
  if (!exe) return { unavailable: 'no C loop built (build/native/bench/pkcs11_sign_loop)' };
  const args = ['--module', token.module, '--token', token.tokenLabel, '--pin', token.pin, '--algorithm', algorithm, '--seconds', String(seconds), '--threads', String(threads)];
  if (keyId) args.push('--key-id', keyId);
  try {
    const out = execFileSync(exe, args, { env: { ...process.env, SOFTHSM2_CONF: token.conf }, encoding: 'utf8', timeout: Math.ceil((seconds + 30) * 1000), stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop());
    return { opsPerSec: r.opsPerSecond ?? r.opsPerSec, cpuUsPerOp: r.cpuUsPerOp };
  } catch (e) {
    return { unavailable: `C loop failed: ${String(e.stderr || e.message).trim().split('\n')[0]}` };
  }
}

/** Why pkcs11js cannot run here, or undefined when it can. */
export async function pkcs11jsUnavailable() {
  try {
    await import('pkcs11js');
    return undefined;
  } catch (e) {
    return e?.code === 'ERR_MODULE_NOT_FOUND' ? 'pkcs11js not installed (npm install)' : `pkcs11js does not load: ${String(e?.message ?? e).split('\n')[0]}`;
  }
}

/** { opsPerSec, cpuUsPerOp } or { unavailable }: pkcs11js signing on the token with `concurrency` in flight. */
export function pkcs11jsLoop({ token, algorithm, keyId, seconds, concurrency, deepbind = true }) {
  const script = join(root, 'bench', 'lib', 'pkcs11js-sign-loop.js');
  const args = { module: token.module, tokenLabel: token.tokenLabel, pin: token.pin, algorithm, keyId, seconds, concurrency, deepbind };
  try {
    const out = execFileSync(process.execPath, [script, JSON.stringify(args)], {
      env: { ...process.env, SOFTHSM2_CONF: token.conf },
      encoding: 'utf8',
      timeout: Math.ceil((seconds + 30) * 1000),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    return { opsPerSec: r.opsPerSecond, cpuUsPerOp: r.cpuUsPerOp };
  } catch (e) {
    const lines = String(e.stderr || e.message).trim().split('\n');
    return { unavailable: `pkcs11js loop failed: ${lines.find((l) => /Error/.test(l)) ?? lines[0]}` };
  }
}
