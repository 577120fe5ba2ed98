// JSON written as Python's json.dumps() writes it with its defaults, which botocore uses for
// request bodies and the AWS CLI for its NextTokens: `, ` and `: ` between items, and every
// character outside printable ASCII escaped (\uXXXX, lowercase; a surrogate pair as two).

const escapeNonAscii = (json: string): string => json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** json.dumps(value) for the JSON values a request holds (strings, numbers, booleans, null, lists, objects). */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    const items = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${items.map(([k, v]) => `${escapeNonAscii(JSON.stringify(k))}: ${pythonJson(v)}`).join(', ')}}`;
  }
  return escapeNonAscii(JSON.stringify(value));
}
