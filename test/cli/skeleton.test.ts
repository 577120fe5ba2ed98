// `--generate-cli-skeleton`: the input template the AWS CLI v2 prints. The fixtures in
// fixtures/skeleton are Debian's aws-cli 2.9.19's own output for every operation whose input has
// not changed since its model; for the others, its members are all there with the same values
// and the newer members follow the same rules.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { cleanupLater, tempHome } from '../helpers/backends.js';
import { ekms } from './run.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'skeleton');

t.test('the skeleton of each operation is the AWS CLI\'s, byte for byte', async (t) => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 25, `${files.length} operations`);
  for (const file of files) {
    const op = file.slice(0, -'.json'.length);
    const r = await ekms([op, '--generate-cli-skeleton']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, readFileSync(join(fixtures, file), 'utf8'), op);
  }
});

t.test('members newer than that CLI follow the same rules', async (t) => {
  const r = await ekms(['generate-data-key', '--generate-cli-skeleton', 'input']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), {
    KeyId: '',
    EncryptionContext: { KeyName: '' },
    NumberOfBytes: 0,
    KeySpec: 'AES_256',
    GrantTokens: [''],
    Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: null },
    DryRun: true,
  });
});

t.test('a filled-in skeleton is a --cli-input-json; no call is made for the skeleton itself', async (t) => {
  const home = tempHome('ekms-skeleton-');
  cleanupLater(home);
  // No required flags: --key-id is not asked for, and nothing is created in the store.
  const template = JSON.parse((await ekms(['describe-key', '--generate-cli-skeleton', '--home', home])).stdout) as Record<string, unknown>;
  t.same(Object.keys(template), ['KeyId', 'GrantTokens']);
  const keyId = (await ekms(['create-key', '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text'])).stdout.trim();
  const described = await ekms(['describe-key', '--home', home, '--cli-input-json', JSON.stringify({ ...template, KeyId: keyId, GrantTokens: [] }), '--query', 'KeyMetadata.KeyId', '--output', 'text']);
  t.equal(described.code, 0, described.stderr);
  t.equal(described.stdout.trim(), keyId);
  const listed = await ekms(['list-keys', '--home', home, '--query', 'length(Keys)']);
  t.equal(listed.stdout.trim(), '1', 'only the key created above');
});

t.test('output and yaml-input are refused as usage errors', async (t) => {
  for (const kind of ['output', 'yaml-input']) {
    const r = await ekms(['list-keys', '--generate-cli-skeleton', kind]);
    t.equal(r.code, 252);
    t.match(r.stderr, `ekms offers only 'input', not '${kind}'`);
  }
  const bogus = await ekms(['list-keys', '--generate-cli-skeleton', 'nope']);
  t.equal(bogus.code, 252);
  t.match(bogus.stderr, "Found invalid choice 'nope'; valid choices: input, output, yaml-input");
});

t.test('--generate-cli-skeleton may be abbreviated as any flag (argparse), and an ambiguous prefix is refused', async (t) => {
  const full = await ekms(['list-keys', '--generate-cli-skeleton']);
  for (const prefix of ['--generate', '--gen']) {
    const short = await ekms(['list-keys', prefix]);
    t.same([short.code, short.stdout], [0, full.stdout], prefix);
  }
  t.same((await ekms(['encrypt', '--gen', 'input'])).stdout, (await ekms(['encrypt', '--generate-cli-skeleton', 'input'])).stdout, 'with its value');
  const ambiguous = await ekms(['encrypt', '--g']);
  t.equal(ambiguous.code, 252);
  t.match(ambiguous.stderr, /ambiguous option: --g could match --grant-tokens, --generate-cli-skeleton/);
});
