#!/usr/bin/env node
// The pkcs11js baseline of the token Sign rows, run as its own process (the bench process has
// already initialised the module through embedded-kms, and pkcs11js would initialise it again).
//
// It does what a service written straight against pkcs11js does for one Sign, with the calls our
// TokenKey::sign makes: SHA-256 of the message in software (node:crypto), then C_SignInit
// (synchronous: pkcs11js has no async form of it) and C_Sign through its callback form, which
// runs on the libuv thread pool. CKM_ECDSA for ecdsa-p256, CKM_RSA_PKCS over DigestInfo||hash
// for rsa-2048. `--concurrency` signs are kept in flight, each on a session of its own (logged in
// once; a session holds one operation at a time). The key is the private key whose CKA_ID is
// `--key-id` (embedded-kms's tokenRef), so it signs with the very key object of the kms row.
//
// Arguments: one JSON object {module, tokenLabel, pin, algorithm, keyId, seconds, concurrency,
// messageBytes}. SOFTHSM2_CONF comes from the environment. Prints one JSON line:
// {"algorithm":…,"concurrency":…,"seconds":…,"operations":…,"opsPerSecond":…,"cpuUsPerOp":…}
// Like the C loop, the timed part excludes start-up, login, the key search and a warm-up.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const pkcs11js = require('pkcs11js');

const o = JSON.parse(process.argv[2] ?? '{}');
const isRsa = o.algorithm === 'rsa-2048';
if (!isRsa && o.algorithm !== 'ecdsa-p256') throw new Error(`unknown algorithm ${o.algorithm}`);
const concurrency = Math.max(1, o.concurrency ?? 1);
const seconds = o.seconds ?? 1;
const digestInfo = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const mechanism = { mechanism: isRsa ? pkcs11js.CKM_RSA_PKCS : pkcs11js.CKM_ECDSA };
const message = Buffer.alloc(o.messageBytes ?? 32);

// pkcs11js opens the module with RTLD_LAZY | RTLD_LOCAL, so its OpenSSL calls bind to the copy
// the `node` binary exports; embedded-kms (and the C loop) open it with RTLD_DEEPBIND, so it runs
// the system libcrypto (DESIGN.md §7). The two copies differ in speed (RSA notably), which is the
// token's time, not the binding's. With `deepbind` the module is opened first the way we open it
// (RTLD_NODELETE keeps it loaded after Node refuses it as an addon) and pkcs11js then gets that
// very instance from dlopen.
if (o.deepbind) {
  const RTLD_NODELETE = 0x1000; // glibc
  try {
    process.dlopen({ exports: {} }, o.module, os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_DEEPBIND | RTLD_NODELETE);
  } catch (e) {
    if (!/did not self-register/.test(e.message)) throw e;
  }
}
const p11 = new pkcs11js.PKCS11();
p11.load(o.module);
p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
try {
  const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === o.tokenLabel);
  if (slot === undefined) throw new Error(`no token labelled '${o.tokenLabel}'`);
  const flags = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
  const sessions = [];
  for (let i = 0; i < concurrency; i++) sessions.push(p11.C_OpenSession(slot, flags));
  p11.C_Login(sessions[0], pkcs11js.CKU_USER, o.pin);

  p11.C_FindObjectsInit(sessions[0], [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_ID, value: Buffer.from(o.keyId) },
  ]);
  const key = p11.C_FindObjects(sessions[0]);
  p11.C_FindObjectsFinal(sessions[0]);
  if (!key) throw new Error(`no private key with CKA_ID '${o.keyId}'`);

  const signOnce = (session, out) => {
    const hash = crypto.createHash('sha256').update(message).digest();
    p11.C_SignInit(session, mechanism, key);
    return p11.C_SignAsync(session, isRsa ? Buffer.concat([digestInfo, hash]) : hash, out);
  };
  const run = async (until) => {
    let ops = 0;
    await Promise.all(
      sessions.map(async (session) => {
        const out = Buffer.alloc(512);
        while (performance.now() < until) {
          await signOnce(session, out);
          ops++;
        }
      }),
    );
    return ops;
  };

  await run(performance.now() + Math.min(0.1, seconds) * 1000); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const operations = await run(t0 + seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const s of sessions) p11.C_CloseSession(s);
  process.stdout.write(
    `${JSON.stringify({ algorithm: o.algorithm, concurrency, seconds: elapsed, operations, opsPerSecond: operations / elapsed, cpuUsPerOp: (cpu.user + cpu.system) / operations })}\n`,
  );
} finally {
  p11.C_Finalize();
}
