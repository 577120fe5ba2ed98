// TagResource, UntagResource, ListResourceTags: tags on KMS keys, under keys/tags.ts's rules.
// A tag key set again takes the new value; removing a tag the key does not have is no error.
import { checkKeyState } from '../../keys/state.js';
import { checkTagKeysToRemove, checkTags } from '../../keys/tags.js';
import type { Tag } from '../../model/types.js';
import { defineOperation } from '../operation.js';
import { limitOf, nameAfter, pageOf } from './markers.js';

export const tagResource = defineOperation('TagResource', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'TagResource');
  const keyId = key.record.keyId;
  ctx.store.write(() => {
    // Counted inside the transaction: another process may be tagging the same key.
    checkTags(input.Tags, ctx.store.tags(keyId).map((t) => t.TagKey));
    ctx.store.putTags(keyId, input.Tags);
  });
  return {};
});

export const untagResource = defineOperation('UntagResource', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'UntagResource');
  checkTagKeysToRemove(input.TagKeys);
  ctx.store.write(() => ctx.store.deleteTags(key.record.keyId, input.TagKeys));
  return {};
});

// AWS: Limit 1–50, default 50.
export const listResourceTags = defineOperation('ListResourceTags', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'ListResourceTags');
  const limit = limitOf(input.Limit, 50, 50);
  const scope = `ListResourceTags ${key.record.keyId}`;
  const rows = ctx.store.tagsPage(key.record.keyId, nameAfter(input.Marker, scope), limit + 1);
  const page = pageOf(rows, limit, (t) => t.TagKey, scope);
  const out: { Tags: Tag[]; Truncated: boolean; NextMarker?: string } = {
    Tags: page.items.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
    Truncated: page.Truncated,
  };
  if (page.NextMarker !== undefined) out.NextMarker = page.NextMarker;
  return out;
});
