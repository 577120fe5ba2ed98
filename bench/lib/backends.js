// Key backends for the benchmark. `openBackend(name)` is the hook: it returns an open Kms whose
// new keys live in that backend, or `{ unavailable: reason }`, so every row prints n/a with the
// reason instead of failing the run.
//
//   software  a fresh temporary home, software keys (always available)
//   softhsm   a fresh SoftHSM2 token in a temporary folder (SOFTHSM2_CONF), opened through
//             Kms.open({ pkcs11 }); available once CreateKey there makes token keys
//             (Origin AWS_CLOUDHSM), i.e. once the PKCS#11 backend lands.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const softhsmModules = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'];

export function findSofthsmModule() {
  return process.env.EKMS_BENCH_SOFTHSM_MODULE ?? softhsmModules.find((p) => existsSync(p));
}

/** Creates a SoftHSM2 token in its own folder; returns its settings (and sets SOFTHSM2_CONF). */
export function createSofthsmToken(dir, label = 'ekms-bench', pin = '1234') {
  const module = findSofthsmModule();
  if (!module) throw new Error('SoftHSM2 is not installed (apt-get install softhsm2)');
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '87654321'], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'pipe',
  });
  return { module, tokenLabel: label, pin, conf };
}

/** `token`: with `softhsm`, open a store on that existing token (same module, same objects) instead of a new one. */
export async function openBackend(name, { Kms, keyCacheSize, audit, token: existing } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `ekms-bench-${name}-`));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (name === 'software') {
      const kms = await Kms.open({ home: join(dir, 'home'), keyCacheSize, ...(audit === undefined ? {} : { audit }) });
      return { name, kms, cleanup };
    }
    if (name === 'softhsm') {
      let token = existing;
      try {
        token ??= createSofthsmToken(dir);
      } catch (e) {
        cleanup();
        return { name, unavailable: `SoftHSM2 token: ${e.message}` };
      }
      const kms = await Kms.open({
        home: join(dir, 'home'),
        keyCacheSize,
        ...(audit === undefined ? {} : { audit }),
        pkcs11: { module: token.module, tokenLabel: token.tokenLabel, pin: token.pin },
      });
      let origin;
      try {
        const { KeyMetadata } = await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
        origin = KeyMetadata.Origin;
      } catch (e) {
        origin = `${e.name}: ${e.message}`;
      }
      if (origin !== 'AWS_CLOUDHSM') {
        await kms.close();
        cleanup();
        return { name, unavailable: `PKCS#11 backend not implemented yet (CreateKey with pkcs11 options gave Origin ${origin})` };
      }
      return { name, kms, cleanup, token };
    }
    cleanup();
    return { name, unavailable: `unknown backend ${name}` };
  } catch (e) {
    cleanup();
    return { name, unavailable: `${e.name}: ${e.message}` };
  }
}
