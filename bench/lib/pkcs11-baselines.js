// Baselines for the PKCS#11 (SoftHSM2) backend: the same token driven without us.
//
// 1. The plain C loop of native/bench/pkcs11_sign_loop.c (built by `npm run build:native` into
//    build/native/bench/pkcs11_sign_loop; $EKMS_BENCH_PKCS11_LOOP overrides the path). It makes
//    the PKCS#11 calls our token Sign makes (software SHA-256, C_SignInit + C_Sign, one logged-in
//    session per thread) and prints one JSON line with opsPerSecond. Given --key-id (our key's
//    tokenRef) it signs with the very key object the kms row used.
// 2. pkcs11js or graphene-pk11 (npm), when installed: imported at runtime (not wired yet).
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
    const out = execFileSync(exe, args, { env: { ...process.env, SOFTHSM2_CONF: token.conf }, encoding: 'utf8', timeout: (seconds + 30) * 1000, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop());
    return { opsPerSec: r.opsPerSecond ?? r.opsPerSec };
  } catch (e) {
    return { unavailable: `C loop failed: ${String(e.stderr || e.message).trim().split('\n')[0]}` };
  }
}

export async function pkcs11jsAvailable() {
  for (const name of ['pkcs11js', 'graphene-pk11']) {
    try {
      await import(name);
      return name;
    } catch {
      // not installed
    }
  }
  return undefined;
}
