// `--output yaml` and `yaml-stream` print what the AWS CLI v2 prints. The fixtures in
// fixtures/yaml are the AWS CLI's own output: Debian's aws-cli 2.9.19 against `ekms serve`, each
// response saved with --output json (<name>.json) and with --output yaml or yaml-stream beside it.
// The tags (<name>.input.json) are strings chosen to hit every style rule: ones that read back as
// numbers, booleans, null, dates; YAML indicators; leading and trailing spaces; tabs, line breaks,
// characters outside the BMP; and long values folded at 80 columns in each quoting style.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { render, type OutputFormat } from '../../src/cli/output.js';
import { isValidTag } from '../../src/keys/tags.js';
import type { Tag } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { ekms } from './run.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'yaml');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');

t.test('each response the AWS CLI printed as YAML is printed the same, byte for byte', async (t) => {
  const names = readdirSync(fixtures).filter((f) => f.endsWith('.json') && !f.endsWith('.input.json'));
  t.ok(names.length >= 15, `${names.length} fixtures`);
  for (const file of names) {
    const name = file.slice(0, -'.json'.length);
    const format: OutputFormat = readdirSync(fixtures).includes(`${name}.yaml`) ? 'yaml' : 'yaml-stream';
    const expected = read(`${name}.${format}`);
    t.equal(render(JSON.parse(read(file)), format, name.startsWith('query-')), expected, `${name} (--output ${format})`);
  }
});

t.test('ekms prints tags of every style as the AWS CLI does (the public command, in process)', async (t) => {
  const home = tempHome('ekms-yaml-');
  cleanupLater(home);
  for (const n of [1, 2]) {
    const created = await ekms(['create-key', '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
    t.equal(created.code, 0, created.stderr);
    const keyId = created.stdout.trim();
    // The tags KMS takes (the others are an Invalid tag: the first test prints them from the saved response).
    const tags = (JSON.parse(read(`tags-${n}.input.json`)) as Tag[]).filter(isValidTag);
    const tagged = await ekms(['tag-resource', '--home', home, '--key-id', keyId, '--tags', JSON.stringify(tags)]);
    t.equal(tagged.code, 0, tagged.stderr);
    const listed = await ekms(['list-resource-tags', '--home', home, '--key-id', keyId, '--output', 'yaml']);
    t.equal(listed.code, 0, listed.stderr);
    const response = JSON.parse(read(`tags-${n}.json`)) as { Tags: Tag[] };
    t.equal(listed.stdout, render({ ...response, Tags: response.Tags.filter(isValidTag) }, 'yaml', false), `tags-${n}: list-resource-tags --output yaml`);
  }
});

t.test('yaml-stream prints each page as it came; an empty response prints nothing', async (t) => {
  const home = tempHome('ekms-yaml-');
  cleanupLater(home);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await ekms(['create-key', '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text'])).stdout.trim());
  const paged = await ekms(['list-keys', '--home', home, '--output', 'yaml-stream', '--page-size', '1', '--max-items', '2']);
  t.equal(paged.code, 0, paged.stderr);
  const pages = paged.stdout.split(/^(?=- Keys:)/m);
  t.equal(pages.length, 2, 'two pages, each an item of the stream');
  for (const page of pages) {
    t.match(page, /^- Keys:\n  - KeyArn: arn:aws:kms:[^\n]+\n    KeyId: [0-9a-f-]{36}\n  NextMarker: \S+\n  Truncated: true\n$/, 'a page keeps its NextMarker and Truncated');
  }
  for (const format of ['yaml', 'yaml-stream']) {
    const enabled = await ekms(['enable-key', '--home', home, '--key-id', ids[0]!, '--output', format]);
    t.same([enabled.code, enabled.stdout], [0, ''], `enable-key --output ${format} prints nothing`);
  }
  const wrong = await ekms(['list-keys', '--home', home, '--output', 'xml']);
  t.equal(wrong.code, 252);
  t.match(wrong.stderr, "argument --output: Found invalid choice 'xml'; valid choices: json, text, table, yaml, yaml-stream");
});
