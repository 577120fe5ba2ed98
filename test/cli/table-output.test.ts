// `--output table` prints what the AWS CLI v2 prints. The fixtures in fixtures/table are the AWS
// CLI's own output: Debian's aws-cli 2.9.19 against `ekms serve`, each response saved with
// --output json (<Operation>[-case].json) and --output table beside it. Piped, the AWS CLI takes
// the terminal to be 80 columns wide; the width-200 case ran in a 200-column terminal
// (`script`, `stty cols 200`, --color off). They cover vertical and horizontal tables, scaled
// columns, nested sections, lists of scalars and of lists, a title left alone by an empty list or
// a scalar query, nothing for `false`, and tag values with East Asian ambiguous and wide characters.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { render } from '../../src/cli/output.js';
import { textLength } from '../../src/cli/table.js';
import { isValidTag } from '../../src/keys/tags.js';
import type { Tag } from '../../src/index.js';
import { cleanupLater, tempHome } from '../helpers/backends.js';
import { ekms } from './run.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures', 'table');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');

t.test('each response the AWS CLI printed as a table is printed the same, byte for byte', async (t) => {
  const names = readdirSync(fixtures).filter((f) => f.endsWith('.json'));
  t.ok(names.length >= 15, `${names.length} fixtures`);
  for (const file of names) {
    const name = file.slice(0, -'.json'.length);
    const title = name.split('-')[0]!;
    const width = /width-(\d+)/.exec(name)?.[1];
    const table = { title, ...(width ? { width: Number(width) } : {}) };
    t.equal(render(JSON.parse(read(file)), 'table', name.includes('query'), table), read(`${name}.table`), `${name}`);
  }
});

t.test('widths count East Asian wide, fullwidth and ambiguous characters as two columns', async (t) => {
  t.equal(textLength('abc'), 3);
  t.equal(textLength('héllo'), 6, 'é is ambiguous');
  t.equal(textLength('日本'), 4, 'wide');
  t.equal(textLength('😀'), 2, 'wide, outside the BMP');
  t.equal(textLength('ＡＢ'), 4, 'fullwidth');
});

t.test('ekms list-resource-tags --output table, the public command in process', async (t) => {
  const home = tempHome('ekms-table-');
  cleanupLater(home);
  const keyId = (await ekms(['create-key', '--home', home, '--query', 'KeyMetadata.KeyId', '--output', 'text'])).stdout.trim();
  // The fixture's tags that KMS takes (the others, such as '#c' and 'emoji 😀', are an Invalid tag:
  // the first test prints them from the saved response).
  const all = JSON.parse(readFileSync(join(here, 'fixtures', 'yaml', 'tags-1.input.json'), 'utf8')) as Tag[];
  const tags = all.filter(isValidTag);
  t.ok(tags.length >= 20 && tags.length < all.length, `${tags.length} of ${all.length} tags`);
  const refused = await ekms(['tag-resource', '--home', home, '--key-id', keyId, '--tags', JSON.stringify(all)]);
  t.same([refused.code, refused.stderr.trim()], [254, 'An error occurred (TagException) when calling the TagResource operation: Invalid tag']);
  const tagged = await ekms(['tag-resource', '--home', home, '--key-id', keyId, '--tags', JSON.stringify(tags)]);
  t.equal(tagged.code, 0, tagged.stderr);
  const listed = await ekms(['list-resource-tags', '--home', home, '--key-id', keyId, '--output', 'table']);
  t.equal(listed.code, 0, listed.stderr);
  const expected = JSON.parse(read('ListResourceTags-1.json')) as { Tags: Tag[] };
  const kept = { ...expected, Tags: expected.Tags.filter(isValidTag) };
  t.equal(listed.stdout, render(kept, 'table', false, { title: 'ListResourceTags' }), 'as the AWS CLI prints the same response');
  const enabled = await ekms(['enable-key', '--home', home, '--key-id', keyId, '--output', 'table']);
  t.same([enabled.code, enabled.stdout], [0, ''], 'an empty response prints nothing');
  const wide = await ekms(['describe-key', '--home', home, '--key-id', keyId, '--output', 'table']);
  t.match(wide.stdout, /^-+\n\|\s+DescribeKey\s+\|\n\+-+\+\n\|\|\s+KeyMetadata\s+\|\|\n/, 'titled by the operation, its members in a nested section');
  t.match(wide.stdout, /\|\|  KeyState\s+\|  Enabled\s+\|\|\n/, 'one row per member once wider than 80 columns');
});
