// Checks the forms make before asking the service, for answers as the user types: principals
// in a key policy, and the shape of a tag list. The service's own checks still decide (its
// errors are shown next to the same fields). A pure module: the page and the Node tests import it.

// An account id, or the ARN of an account root, IAM user or role, or assumed-role session.
const PRINCIPAL =
  /^(?:\d{12}|arn:aws[a-z-]*:iam::\d{12}:(?:root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[\w+=,.@/-]+)$/;

/**
 * Principals typed one per line (or separated by commas): the distinct ones, in order, and a
 * sentence for each line that is not a principal.
 */
export function parsePrincipals(text) {
  const principals = [];
  const problems = [];
  for (const raw of text.split(/[\n,]/)) {
    const p = raw.trim();
    if (p === '') continue;
    if (!PRINCIPAL.test(p)) problems.push(`"${p}" is not an account ID or the ARN of an IAM user, role or account root.`);
    else if (!principals.includes(p)) principals.push(p);
  }
  return { principals, problems };
}

/**
 * A text's length as the service counts it against its limits: in code points (Java's
 * codePointCount), where `.length` counts UTF-16 units and so a character beyond U+FFFF twice.
 */
export function textLength(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/**
 * Problems with a tag list, each as {index, field: 'key' | 'value', message}.
 * @param {{key: string, value: string}[]} tags
 * @param {{TagKeyLength: {Max: number}, TagValueLength: {Max: number}, MaxTagsPerKey: number}} limits
 */
export function tagProblems(tags, limits) {
  const problems = [];
  const seen = new Set();
  tags.forEach((t, index) => {
    if (t.key === '') problems.push({ index, field: 'key', message: 'Enter a tag key, or remove the tag.' });
    else if (textLength(t.key) > limits.TagKeyLength.Max)
      problems.push({ index, field: 'key', message: `A tag key has at most ${limits.TagKeyLength.Max} characters.` });
    else if (seen.has(t.key)) problems.push({ index, field: 'key', message: `The tag key "${t.key}" is used twice.` });
    seen.add(t.key);
    if (textLength(t.value) > limits.TagValueLength.Max)
      problems.push({ index, field: 'value', message: `A tag value has at most ${limits.TagValueLength.Max} characters.` });
  });
  if (tags.length > limits.MaxTagsPerKey) problems.push({ index: limits.MaxTagsPerKey, field: 'key', message: `A key has at most ${limits.MaxTagsPerKey} tags.` });
  return problems;
}
