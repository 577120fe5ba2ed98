// TagResource, UntagResource, ListResourceTags and CreateKey's Tags, against AWS's recorded
// behaviour (test_tag_*, test_untag_*, test_create_key_with_*tag*).
import t from 'tap';

import type { Kms, Tag } from '../../src/index.js';
import { eachBackend, rejectsAws } from '../helpers/kms-fixture.js';

type Test = typeof t;

const tags = (...pairs: [string, string][]): Tag[] => pairs.map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
const manyTags = (n: number, prefix = 'k'): Tag[] => Array.from({ length: n }, (_, i) => ({ TagKey: `${prefix}${i}`, TagValue: `v${i}` }));

async function newKey(kms: Kms, Tags?: Tag[]): Promise<string> {
  return (await kms.createKey({ Tags })).KeyMetadata!.KeyId!;
}

async function allTags(kms: Kms, KeyId: string): Promise<Tag[]> {
  return (await kms.listResourceTags({ KeyId })).Tags!;
}

eachBackend('tagging an existing key, then untagging all of it', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  t.same(await kms.tagResource({ KeyId: keyId, Tags: tags(['tag1', 'value1'], ['tag2', 'value2']) }), {});
  t.same(await allTags(kms, keyId), tags(['tag1', 'value1'], ['tag2', 'value2']));
  t.same(await kms.untagResource({ KeyId: keyId, TagKeys: ['tag1', 'tag2'] }), {});
  t.same(await allTags(kms, keyId), []);
});

eachBackend('CreateKey tags, then partial untagging (unknown tag keys are ignored)', async (t: Test, kms) => {
  const keyId = await newKey(kms, tags(['tag1', 'value1'], ['tag2', 'value2'], ['tag3', 'value3']));
  t.same(await allTags(kms, keyId), tags(['tag1', 'value1'], ['tag2', 'value2'], ['tag3', 'value3']));
  await kms.untagResource({ KeyId: keyId, TagKeys: ['tag2', 'not-there'] });
  t.same(await allTags(kms, keyId), tags(['tag1', 'value1'], ['tag3', 'value3']));
});

eachBackend('tagging again updates values and adds new tags', async (t: Test, kms) => {
  const keyId = await newKey(kms, tags(['tag1', 'value1'], ['tag2', 'value2'], ['tag3', 'value3']));
  const arn = `arn:aws:kms:${kms.config.region}:${kms.config.accountId}:key/${keyId}`;
  await kms.tagResource({ KeyId: arn, Tags: tags(['tag2', 'updated_value2'], ['tag4', 'value4'], ['tag5', 'value5']) });
  t.same(
    await allTags(kms, keyId),
    tags(['tag1', 'value1'], ['tag2', 'updated_value2'], ['tag3', 'value3'], ['tag4', 'value4'], ['tag5', 'value5']),
  );
});

eachBackend('TagException for reserved, duplicate and too many tags (recorded messages)', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  for (const key of ['aws:foo', 'AWS:foo', 'Aws:bar']) {
    await rejectsAws(t, kms.tagResource({ KeyId: keyId, Tags: tags([key, 'v']) }), 'TagException', 'Tags beginning with aws: are reserved');
    await rejectsAws(t, kms.createKey({ Tags: tags([key, 'v']) }), 'TagException', 'Tags beginning with aws: are reserved');
  }
  await rejectsAws(t, kms.untagResource({ KeyId: keyId, TagKeys: ['aws:foo'] }), 'TagException', 'Tags beginning with aws: are reserved');
  await rejectsAws(t, kms.tagResource({ KeyId: keyId, Tags: tags(['a', '1'], ['a', '2']) }), 'TagException', 'Duplicate tag keys');
  await rejectsAws(t, kms.createKey({ Tags: tags(['a', '1'], ['a', '2']) }), 'TagException', 'Duplicate tag keys');
  await rejectsAws(t, kms.createKey({ Tags: manyTags(51) }), 'TagException', 'Too many tags');
  t.same(await allTags(kms, keyId), [], 'refused requests changed nothing');

  // 50 in all is the limit, counting the tags already on the key; replacing a value adds none.
  await kms.tagResource({ KeyId: keyId, Tags: manyTags(40) });
  await rejectsAws(t, kms.tagResource({ KeyId: keyId, Tags: manyTags(11, 'x') }), 'TagException', 'Too many tags');
  await kms.tagResource({ KeyId: keyId, Tags: [...manyTags(10, 'x'), { TagKey: 'k0', TagValue: 'new' }] });
  t.equal((await kms.listResourceTags({ KeyId: keyId })).Tags!.length, 50);
  const full = await newKey(kms, manyTags(50));
  t.equal((await kms.listResourceTags({ KeyId: full })).Tags!.length, 50, 'CreateKey accepts exactly 50');
});

eachBackend('over-long tag keys and values are ValidationExceptions (recorded messages)', async (t: Test, kms) => {
  const keyId = await newKey(kms);
  const longKey = 'a'.repeat(129);
  const longValue = 'v'.repeat(257);
  await rejectsAws(
    t,
    kms.createKey({ Tags: tags([longKey, 'v']) }),
    'ValidationException',
    `1 validation error detected: Value '${longKey}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
  );
  await rejectsAws(
    t,
    kms.tagResource({ KeyId: keyId, Tags: tags(['k', longValue]) }),
    'ValidationException',
    `1 validation error detected: Value '${longValue}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
  );
});

eachBackend('ListResourceTags pages', async (t: Test, kms) => {
  const keyId = await newKey(kms, manyTags(7));
  const expected = (await allTags(kms, keyId)).map((x) => x.TagKey);
  t.equal(expected.length, 7);
  const seen: string[] = [];
  let marker: string | undefined;
  do {
    const page = await kms.listResourceTags({ KeyId: keyId, Limit: 3, Marker: marker });
    t.ok(page.Tags!.length <= 3);
    t.equal(page.Truncated, page.NextMarker !== undefined);
    seen.push(...page.Tags!.map((x) => x.TagKey));
    marker = page.NextMarker;
  } while (marker !== undefined);
  t.same(seen, expected);
  const one = await kms.listResourceTags({ KeyId: keyId });
  t.equal(one.Truncated, false);
  t.notOk('NextMarker' in one);
  await rejectsAws(t, kms.listResourceTags({ KeyId: keyId, Marker: 'bogus' }), 'InvalidMarkerException');
  await rejectsAws(t, kms.listResourceTags({ KeyId: keyId, Marker: 'ekms1:!!!' }), 'InvalidMarkerException');
  await rejectsAws(t, kms.listResourceTags({ KeyId: '11111111-2222-4333-8444-555555555555' }), 'NotFoundException');
});

eachBackend("tag text outside AWS's character set is an Invalid tag (letters, digits and spaces of any script, and _ . : / = + - @)", async (t: Test, kms) => {
  const keyId = await newKey(kms);
  for (const [key, value] of [
    ['Owner', 'My & My Team'],
    ['a#b!', 'x'],
    ['k', '<script>'],
    ['tab\there', 'v'],
    ['k', 'line\nbreak'],
  ] as const) {
    await rejectsAws(t, kms.tagResource({ KeyId: keyId, Tags: tags([key, value]) }), 'TagException', 'Invalid tag');
    await rejectsAws(t, kms.createKey({ Tags: tags([key, value]) }), 'TagException', 'Invalid tag');
  }
  t.same(await allTags(kms, keyId), [], 'nothing was tagged');
  const fine = tags(['Équipe/team:owner@corp', 'Zoë Ünal = 5+3-1_a.b'], ['名前', '値 ２'], ['empty', '']);
  await kms.tagResource({ KeyId: keyId, Tags: fine });
  const byKey = (list: Tag[]) => [...list].sort((a, b) => a.TagKey.localeCompare(b.TagKey));
  t.same(byKey(await allTags(kms, keyId)), byKey(fine));
});
