// Secrets hygiene, end to end: every operation is run with known secrets — plaintexts and
// messages, a PKCS#11 PIN (right, wrong, and in a PIN file), the root key (read from root.key by
// this test only), data key plaintexts — through the library, the endpoint (when present) and
// the CLI, successes and failures alike. Then every channel a secret could leak through is
// grepped for each of them, raw, hex and base64: error messages and stacks, the audit trail,
// endpoint response bodies (other than the outputs that carry plaintext by design), CLI stderr,
// anything written to this process's stdout/stderr or emitted as a warning, and the metadata
// store on disk.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { Kms, operationTable } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';

const tag = randomBytes(6).toString('hex');
const plaintext = Buffer.from(`EKMS-SECRET-PLAINTEXT-${tag}`);
const message = Buffer.from(`EKMS-SECRET-MESSAGE-${tag}`);
const pin = `pin-${tag}`;
const wrongPin = `wrongpin-${tag}`;

// ---------------------------------------------------------------- what is captured

const captured: string[] = [];
const capture = (what: string, text: unknown) => captured.push(`[${what}] ${typeof text === 'string' ? text : String(text)}`);
for (const stream of [process.stdout, process.stderr] as const) {
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  (stream as unknown as { write: (...a: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
    capture('stdio', Buffer.isBuffer(chunk) ? chunk.toString('latin1') : chunk);
    return write(chunk, ...rest);
  };
}
process.on('warning', (w) => capture('warning', `${w.name}: ${w.message}`));

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string; stack?: string; cause?: unknown } | undefined;
  let s = `${e?.name}: ${e?.message}\n${e?.stack ?? ''}`;
  if (e?.cause) s += `\ncause: ${errorText(e.cause)}`;
  return s;
}

async function attempt<T>(what: string, p: Promise<T> | (() => Promise<T>)): Promise<T | undefined> {
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (err) {
    capture(`error ${what}`, errorText(err));
    return undefined;
  }
}

/** The forms a secret could take in text. */
function forms(name: string, secret: Buffer): [string, string][] {
  const out: [string, string][] = [
    [`${name} (base64)`, secret.toString('base64')],
    [`${name} (hex)`, secret.toString('hex')],
  ];
  // Printable secrets also raw; binary ones (root key) raw as latin1 too, 16-byte windows.
  if (/^[\x20-\x7e]+$/.test(secret.toString('latin1'))) out.push([`${name} (raw)`, secret.toString('latin1')]);
  else for (let i = 0; i + 16 <= secret.length; i += 8) out.push([`${name} (raw bytes ${i})`, secret.subarray(i, i + 16).toString('latin1')]);
  return out;
}

// ---------------------------------------------------------------- SoftHSM2 token with our PIN

function makeToken(): { module: string; label: string } | undefined {
  const module = process.env.EKMS_TEST_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
  if (!existsSync(module)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ekms-secrets-softhsm-'));
  cleanupLater(dir);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'ekms-secrets', '--pin', pin, '--so-pin', `so-${tag}`], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return { module, label: 'ekms-secrets' };
}

// ---------------------------------------------------------------- the run

async function exercise(kms: Kms, label: string, secrets: Buffer[]): Promise<void> {
  const mk = async (KeySpec: string, KeyUsage: string) =>
    (await attempt(`${label} CreateKey ${KeySpec}`, kms.createKey({ KeySpec, KeyUsage } as never)))?.KeyMetadata?.KeyId;
  const sym = await mk('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
  const rsa = await mk('RSA_2048', 'ENCRYPT_DECRYPT');
  const ec = await mk('ECC_NIST_P256', 'SIGN_VERIFY');
  const ka = await mk('ECC_NIST_P256', 'KEY_AGREEMENT');
  const mac = await mk('HMAC_256', 'GENERATE_VERIFY_MAC');
  const run = (op: string, input: unknown) => attempt(`${label} ${op}`, () => kms.execute(op as never, input as never));

  const ct = (await run('Encrypt', { KeyId: sym, Plaintext: plaintext, EncryptionContext: { a: 'b' } })) as { CiphertextBlob?: Uint8Array } | undefined;
  await run('Decrypt', { CiphertextBlob: ct?.CiphertextBlob, EncryptionContext: { a: 'b' } });
  await run('Decrypt', { CiphertextBlob: ct?.CiphertextBlob, EncryptionContext: { a: 'wrong' } });
  await run('Decrypt', { CiphertextBlob: plaintext });
  await run('Encrypt', { KeyId: rsa, Plaintext: plaintext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
  await run('Encrypt', { KeyId: rsa, Plaintext: Buffer.concat(Array(20).fill(plaintext)), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' });
  await run('Encrypt', { KeyId: sym, Plaintext: Buffer.concat(Array(200).fill(plaintext)) });
  await run('Encrypt', { KeyId: sym, Plaintext: plaintext.toString() });
  await run('Encrypt', { KeyId: ec, Plaintext: plaintext });
  await run('ReEncrypt', { CiphertextBlob: ct?.CiphertextBlob, SourceEncryptionContext: { a: 'b' }, DestinationKeyId: rsa, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
  const dk = (await run('GenerateDataKey', { KeyId: sym, KeySpec: 'AES_256' })) as { Plaintext?: Uint8Array } | undefined;
  if (dk?.Plaintext) secrets.push(Buffer.from(dk.Plaintext));
  const pair = (await run('GenerateDataKeyPair', { KeyId: sym, KeyPairSpec: 'ECC_NIST_P256' })) as { PrivateKeyPlaintext?: Uint8Array } | undefined;
  // A PKCS#8 key holds public parts too (the algorithm header, the public point): the secret is
  // its private scalar.
  if (pair?.PrivateKeyPlaintext) {
    const jwk = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    secrets.push(Buffer.from(jwk.d!, 'base64url'));
  }
  const sig = (await run('Sign', { KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })) as { Signature?: Uint8Array } | undefined;
  await run('Verify', { KeyId: ec, Message: message, Signature: sig?.Signature, SigningAlgorithm: 'ECDSA_SHA_256' });
  await run('Verify', { KeyId: ec, Message: Buffer.concat([message, Buffer.from('x')]), Signature: sig?.Signature, SigningAlgorithm: 'ECDSA_SHA_256' });
  await run('Sign', { KeyId: ec, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'DIGEST' });
  await run('Sign', { KeyId: ec, Message: message.toString(), SigningAlgorithm: 'ECDSA_SHA_256' });
  await run('Sign', { KeyId: sym, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
  const m = (await run('GenerateMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_256' })) as { Mac?: Uint8Array } | undefined;
  await run('VerifyMac', { KeyId: mac, Message: message, Mac: m?.Mac, MacAlgorithm: 'HMAC_SHA_256' });
  await run('VerifyMac', { KeyId: mac, Message: plaintext, Mac: m?.Mac, MacAlgorithm: 'HMAC_SHA_256' });
  await run('DeriveSharedSecret', { KeyId: ka, KeyAgreementAlgorithm: 'ECDH', PublicKey: plaintext });
  const peer = (await run('GetPublicKey', { KeyId: ec })) as { PublicKey?: Uint8Array } | undefined;
  const shared = (await run('DeriveSharedSecret', { KeyId: ka, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer?.PublicKey })) as { SharedSecret?: Uint8Array } | undefined;
  if (shared?.SharedSecret) secrets.push(Buffer.from(shared.SharedSecret));
  await run('GenerateRandom', { NumberOfBytes: 32 });
  // Every other operation of the table, with the plaintext in a member where it does not belong.
  for (const op of operationTable.keys()) await run(op, { KeyId: sym, Description: 'd', Plaintext: plaintext, Message: message });
}

t.test('no secret reaches an error message, a log, the audit trail or the store', async (t) => {
  const home = tempHome('ekms-secrets-');
  cleanupLater(home);
  const secrets: Buffer[] = [plaintext, message];
  const kms = await Kms.open({ home });
  await exercise(kms, 'software', secrets);

  // Through the endpoint, when there is one: plaintexts in valid and in malformed requests.
  const responses: string[] = [];
  let endpoint: typeof import('../../src/endpoint/index.js') | undefined;
  try {
    endpoint = await import('../../src/endpoint/index.js');
  } catch {
    t.comment('src/endpoint not present: endpoint part n/a');
  }
  if (endpoint) {
    const { KeyMetadata } = await kms.createKey({});
    const keyId = KeyMetadata!.KeyId!;
    const b64 = plaintext.toString('base64');
    const bodies = [
      { op: 'Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: b64 }) },
      { op: 'Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: plaintext.toString() }) }, // not base64
      { op: 'Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: `${b64}!` }) },
      { op: 'Encrypt', body: `{"KeyId":"${keyId}","Plaintext":"${b64}"` }, // broken JSON
      { op: 'Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: Buffer.concat(Array(300).fill(plaintext)).toString('base64') }) },
      { op: 'Sign', body: JSON.stringify({ KeyId: keyId, Message: message.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }) },
      { op: 'GenerateMac', body: JSON.stringify({ KeyId: 'alias/none', Message: message.toString('base64'), MacAlgorithm: 'HMAC_SHA_256' }) },
      { op: 'NoSuchOp', body: JSON.stringify({ Plaintext: b64 }) },
    ];
    for (const { op, body } of bodies) {
      const res = await endpoint.processRequest(
        kms,
        { method: 'POST', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${op}` }, body: Buffer.from(body), sourceAddress: '127.0.0.1' },
        { callerKind: 'endpoint' },
      );
      responses.push(`[endpoint ${op} ${res.statusCode}] ${res.body.toString('utf8')}`);
    }
  }
  await kms.close();

  // The CLI, when there is one: an error about a plaintext argument must not echo it.
  const cli = join(import.meta.dirname, '..', '..', 'bin', 'ekms.js');
  if (existsSync(cli) && existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js'))) {
    for (const args of [
      ['encrypt', '--key-id', 'alias/none', '--plaintext', plaintext.toString()],
      ['encrypt', '--key-id', 'alias/none', '--plaintext', plaintext.toString('base64')],
      ['sign', '--key-id', 'alias/none', '--message', message.toString('base64'), '--signing-algorithm', 'ECDSA_SHA_256'],
    ]) {
      const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, EKMS_HOME: home }, encoding: 'utf8', timeout: 60_000 });
      capture(`cli ${args[0]} stderr`, r.stderr);
    }
  }

  // With a PKCS#11 token: the right PIN, a wrong one, a PIN file, and operations on token keys.
  const token = makeToken();
  if (token) {
    const pinFile = join(home, 'pin.txt');
    writeFileSync(pinFile, `${wrongPin}\n`, { mode: 0o600 });
    await attempt('open with a wrong PIN', Kms.open({ home: tempHome('ekms-secrets-pin-'), pkcs11: { module: token.module, tokenLabel: token.label, pin: wrongPin } }));
    await attempt('open with a wrong PIN file', Kms.open({ home: tempHome('ekms-secrets-pin-'), pkcs11: { module: token.module, tokenLabel: token.label, pinFile } }));
    await attempt('open a missing token', Kms.open({ home: tempHome('ekms-secrets-pin-'), pkcs11: { module: token.module, tokenLabel: 'nope', pin } }));
    const tokenHome = tempHome('ekms-secrets-token-');
    cleanupLater(tokenHome);
    const onToken = await attempt('open with the PIN', Kms.open({ home: tokenHome, pkcs11: { module: token.module, tokenLabel: token.label, pin } }));
    t.ok(onToken, 'the store opens on the token with the right PIN');
    if (onToken) {
      await exercise(onToken, 'token', secrets);
      await onToken.close();
      captured.push(`[token audit] ${readFileSync(join(tokenHome, 'audit.log'), 'utf8')}`);
      captured.push(`[token store] ${readFileSync(join(tokenHome, 'store.sqlite3')).toString('latin1')}`);
    }
  } else {
    t.comment('SoftHSM2 not available: PIN part n/a');
  }

  // The root key, read here from root.key (magic, version, 32 key bytes): only this test reads it.
  const rootFile = readFileSync(join(home, 'root.key'));
  const rootKey = rootFile.subarray(9, 41);
  t.equal(rootKey.length, 32);

  const audit = readFileSync(join(home, 'audit.log'), 'utf8');
  t.ok(audit.split('\n').filter(Boolean).length > 40, 'the audit trail recorded the run');
  const store = readFileSync(join(home, 'store.sqlite3')).toString('latin1');
  const channels: [string, string][] = [
    ['errors, warnings and stdio', captured.join('\n')],
    ['audit trail', audit],
    ['endpoint responses', responses.join('\n')],
  ];
  const named: [string, Buffer][] = [
    ['plaintext', plaintext],
    ['message', message],
    ['PIN', Buffer.from(pin)],
    ['wrong PIN', Buffer.from(wrongPin)],
    ['root key', rootKey],
    ...secrets.slice(2).map((s, i) => [`generated secret ${i}`, s] as [string, Buffer]),
  ];
  let checks = 0;
  for (const [channel, text] of channels) {
    for (const [name, secret] of named) {
      for (const [form, needle] of forms(name, secret)) {
        checks++;
        if (text.includes(needle)) t.fail(`${form} found in ${channel}: …${text.slice(Math.max(0, text.indexOf(needle) - 120), text.indexOf(needle) + 40)}…`);
      }
    }
  }
  // The store holds wrapped blobs only: no root key, no plaintext, no PIN, no data key.
  for (const [name, secret] of named) {
    for (const [form, needle] of forms(name, secret)) {
      checks++;
      if (store.includes(needle)) t.fail(`${form} found in the metadata store`);
    }
  }
  t.ok(captured.some((c) => c.startsWith('[error')), 'errors were produced and checked');
  t.ok(checks > 100, `${checks} needle × channel checks`);
  t.pass('no secret found in any channel');
});
