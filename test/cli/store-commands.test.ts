// `ekms backup`, `restore`, `rotate-root-key`, `escrow-root-key` and `recover-root-key`: round
// trips through the CLI, with the keys checked by signing after each step. On both backends: a
// token key is a reference in the store, so the backup and restore carry it, the root key
// rotation re-wraps nothing of it, and it signs (on the token) after each step.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import { backends, tempHome, type Backend } from '../helpers/backends.js';
import '../helpers/softhsm.js';
import { ekms as run } from './run.js';

/** Signs with the key in that home; the signature checked by Verify and by node:crypto. */
async function signWith(t: { ok: (v: unknown, m: string) => void }, backend: Backend, home: string, keyId: string): Promise<void> {
  const kms = await backend.open({ home });
  try {
    const sig = await kms.sign({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
    const v = await kms.verify({ KeyId: keyId, Message: Buffer.from('m'), Signature: sig.Signature!, SigningAlgorithm: 'ECDSA_SHA_256' });
    const pub = createPublicKey({ key: Buffer.from((await kms.getPublicKey({ KeyId: keyId })).PublicKey!), format: 'der', type: 'spki' });
    t.ok(v.SignatureValid && nodeVerify('sha256', Buffer.from('m'), pub, Buffer.from(sig.Signature!)), `signs in ${home}`);
  } finally {
    await kms.close();
  }
}

for (const backend of backends())
t.test(`backup, restore into a new home, rotate the root key, escrow and recover it [${backend.name}]`, async (t) => {
  const ekms = (argv: string[], env: NodeJS.ProcessEnv = {}) => run(argv, env, backend.open);
  const home = tempHome();
  const created = await ekms(['create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY', '--home', home]);
  t.equal(created.code, 0, created.stderr);
  const keyId = JSON.parse(created.stdout).KeyMetadata.KeyId as string;
  const onToken = backend.name !== 'software';
  t.equal(JSON.parse(created.stdout).KeyMetadata.Origin, onToken ? 'AWS_CLOUDHSM' : 'AWS_KMS');

  const backupFile = join(tempHome(), 'store.backup');
  const backup = await ekms(['backup', backupFile, '--home', home]);
  t.equal(backup.code, 0, backup.stderr);
  t.equal(JSON.parse(backup.stdout).Keys, 1);
  t.ok(existsSync(backupFile));
  t.equal((await ekms(['backup', backupFile, '--home', home])).code, 255, 'an existing backup file is never replaced');

  // A new home refuses the backup without the root key it was made with, then accepts it.
  const other = tempHome();
  const refused = await ekms(['restore', backupFile, '--home', other]);
  t.not(refused.code, 0, 'restore without the matching root key is refused');
  const rootCopy = join(tempHome(), 'root.key');
  copyFileSync(join(home, 'root.key'), rootCopy);
  const restored = await ekms(['restore', backupFile, '--root-key-file', rootCopy, '--home', other]);
  t.equal(restored.code, 0, restored.stderr);
  // A token key's objects stay the original's (README, "Durability"), and the output says so.
  const said = JSON.parse(restored.stdout);
  t.equal(said.TokenKeys, onToken ? 1 : undefined, 'the token keys are counted');
  if (onToken) {
    t.equal(said.StoresNotOwned.length, 1, 'the store the backup came from is not the restored one');
    t.match(said.Note, /--adopt-token-objects/, 'with the way to take its objects over');
  }
  await signWith(t, backend, other, keyId);
  const adopted = await ekms(['restore', backupFile, '--root-key-file', rootCopy, '--adopt-token-objects', '--home', tempHome()]);
  t.equal(adopted.code, 0, adopted.stderr);
  t.equal(JSON.parse(adopted.stdout).StoresNotOwned, undefined, 'none once adopted');
  const unknown = await ekms(['restore', backupFile, '--root-key-file', rootCopy, '--adopt-store-ids', 'no-such-store', '--home', tempHome()]);
  t.not(unknown.code, 0, 'an id outside the backup\'s history is refused');
  t.match(unknown.stderr, /no-such-store is not in this backup's history/);
  if (onToken) {
    const named = await ekms(['restore', backupFile, '--root-key-file', rootCopy, '--adopt-store-ids', said.StoresNotOwned.join(','), '--home', tempHome()]);
    t.equal(named.code, 0, named.stderr);
    t.equal(JSON.parse(named.stdout).StoresNotOwned, undefined, 'the named stores are taken over');
  }

  const rotated = await ekms(['rotate-root-key', '--home', home]);
  t.equal(rotated.code, 0, rotated.stderr);
  const rotation = JSON.parse(rotated.stdout);
  t.not(rotation.RootKeyCheckValue, rotation.PreviousRootKeyCheckValue);
  t.equal(rotation.RewrappedKeyMaterials, onToken ? 0 : 1, onToken ? 'a token key has nothing to re-wrap' : 'the key re-wrapped');
  t.notOk(readFileSync(join(home, 'root.key')).equals(readFileSync(rootCopy)), 'root.key was replaced');
  await signWith(t, backend, home, keyId);

  const passFile = join(tempHome(), 'pass');
  writeFileSync(passFile, 'correct horse battery staple\n', { mode: 0o600 });
  const escrowFile = join(tempHome(), 'root.escrow');
  const escrowed = await ekms(['escrow-root-key', escrowFile, '--passphrase-file', passFile, '--home', home]);
  t.equal(escrowed.code, 0, escrowed.stderr);
  t.equal(JSON.parse(escrowed.stdout).RootKeyCheckValue, rotation.RootKeyCheckValue);
  t.notOk(escrowed.stdout.includes('correct horse'), 'the passphrase is not printed');

  const fresh = tempHome();
  const wrong = await ekms(['recover-root-key', escrowFile, '--home', fresh], { EKMS_ESCROW_PASSPHRASE: 'not the passphrase' });
  t.not(wrong.code, 0, 'a wrong passphrase recovers nothing');
  t.notOk(wrong.stderr.includes('not the passphrase'));
  const recovered = await ekms(['recover-root-key', escrowFile, '--passphrase-file', passFile, '--home', fresh]);
  t.equal(recovered.code, 0, recovered.stderr);
  t.ok(readFileSync(join(fresh, 'root.key')).equals(readFileSync(join(home, 'root.key'))), 'the recovered root key is the current one');

  t.equal((await ekms(['escrow-root-key', escrowFile, '--home', home], {})).code, 252, 'no passphrase is a usage error');
  const unreadable = await ekms(['escrow-root-key', join(tempHome(), 'other.escrow'), '--passphrase-file', '/nonexistent/pass', '--home', home]);
  t.same([unreadable.code, unreadable.stderr.trim()], [252, "Error parsing parameter '--passphrase-file': cannot read /nonexistent/pass: ENOENT"], 'a passphrase file it cannot read names the flag');
  t.equal((await ekms(['describe-key', 'extra-word', '--key-id', keyId, '--home', home])).code, 252, 'operations take no positional words');
});

t.test('ekms help lists the key store commands', async (t) => {
  const help = await run(['help']);
  t.equal(help.code, 0);
  for (const command of ['import-key', 'backup <file>', 'restore <file>', 'rotate-root-key', 'escrow-root-key <file>', 'recover-root-key <file>'])
    t.ok(help.stdout.includes(`       ${command}`), `lists ${command}`);
});

t.test('store commands take --query and --output as every command does, and refuse what they cannot use', async (t) => {
  const home = tempHome();
  t.equal((await run(['create-key', '--home', home])).code, 0);
  const text = await run(['backup', join(tempHome(), 'b.db'), '--home', home, '--query', 'Keys', '--output', 'text']);
  t.equal(text.code, 0);
  t.equal(text.stdout, '1\n', '--query and --output text applied');
  const bogus = join(tempHome(), 'never.db');
  const badOutput = await run(['backup', bogus, '--home', home, '--output', 'bogus']);
  t.equal(badOutput.code, 252);
  t.match(badOutput.stderr, /argument --output: Found invalid choice 'bogus'/);
  t.notOk(existsSync(bogus), 'refused before the backup was made');
  const fromEnv = await run(['backup', bogus, '--home', home], { AWS_DEFAULT_OUTPUT: 'bogus' });
  t.equal(fromEnv.code, 255);
  t.match(fromEnv.stderr, /Unknown output type: bogus/, "AWS_DEFAULT_OUTPUT's value is not blamed on --output (the AWS CLI's words)");
  const noValue = await run(['rotate-root-key', '--home', home, '--keep-previous-root-key-as']);
  t.equal(noValue.code, 252);
  t.match(noValue.stderr, /argument --keep-previous-root-key-as: expected one argument/);
  // Paths that cannot be used are said in those words (not mkdir's EEXIST or a temporary file's ENOENT).
  const noFolder = await run(['backup', join(tempHome(), 'missing', 'b.db'), '--home', home]);
  t.equal(noFolder.code, 255);
  t.match(noFolder.stderr, /cannot make .*b\.db: there is no folder .*missing/);
  const existing = join(tempHome(), 'kept.key');
  writeFileSync(existing, 'x');
  const kept = await run(['rotate-root-key', '--home', home, '--keep-previous-root-key-as', existing]);
  t.equal(kept.code, 255);
  t.match(kept.stderr, /kept\.key exists; keeping the previous root key never replaces a file/);
  t.equal(readFileSync(existing, 'utf8'), 'x');
  const fileHome = await run(['list-keys', '--home', existing]);
  t.equal(fileHome.code, 255);
  t.match(fileHome.stderr, /kept\.key is a file, not a folder/);
  const stray = await run(['serve', '8080']);
  t.equal(stray.code, 252, 'serve refuses a word that is no flag (the port is --port)');
  t.match(stray.stderr, /Unknown options: 8080/);
});
