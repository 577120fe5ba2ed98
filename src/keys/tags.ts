// AWS's rules for tags on KMS keys (CreateKey's Tags, TagResource, UntagResource), in its
// recorded words. Over-long keys and values are the model validator's (ValidationException).
import { TagException } from '../errors.js';
import type { Tag } from '../model/types.js';

export const maxTagsPerKey = 50;

const reservedPrefix = 'aws:';
const isReserved = (tagKey: string) => tagKey.toLowerCase().startsWith(reservedPrefix);
const reserved = () => new TagException('Tags beginning with aws: are reserved');

// AWS's tag character set (its "user-defined tag restrictions"): letters, digits and separators
// of any script, and _ . : / = + - @. KMS refuses anything else as "Invalid tag" (a CreateKey
// with the value "My & My Team" in CloudTrail, crossplane-contrib/provider-upjet-aws#922).
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Whether KMS takes a tag's key and value (their characters; lengths are the model's). */
export const isValidTag = (t: Tag): boolean => TAG_TEXT.test(t.TagKey) && TAG_TEXT.test(t.TagValue);

/** Checks a request's tags; `existingKeys` are the tag keys already on the key (TagResource). */
export function checkTags(tags: readonly Tag[], existingKeys: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const t of tags) {
    if (isReserved(t.TagKey)) throw reserved();
    if (!isValidTag(t)) throw new TagException('Invalid tag');
    if (seen.has(t.TagKey)) throw new TagException('Duplicate tag keys');
    seen.add(t.TagKey);
  }
  const total = new Set([...existingKeys, ...seen]).size;
  if (total > maxTagsPerKey) throw new TagException('Too many tags');
}

/** UntagResource: AWS's own tags cannot be removed either. */
export function checkTagKeysToRemove(tagKeys: readonly string[]): void {
  if (tagKeys.some(isReserved)) throw reserved();
}
