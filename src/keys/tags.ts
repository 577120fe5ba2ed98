// AWS's rules for tags on KMS keys (CreateKey's Tags and TagResource).
import { TagException } from '../errors.js';
import type { Tag } from '../model/types.js';

export const maxTagsPerKey = 50;

/** Checks a request's tags; `existing` counts tags already on the key (TagResource). */
export function checkTags(tags: readonly Tag[], existingKeys: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new TagException('Tags beginning with aws: are reserved');
    if (seen.has(t.TagKey)) throw new TagException('Duplicate tag keys');
    seen.add(t.TagKey);
  }
  const total = new Set([...existingKeys, ...seen]).size;
  if (total > maxTagsPerKey) throw new TagException('Too many tags');
}
