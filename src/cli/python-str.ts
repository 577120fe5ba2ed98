// How the AWS CLI (Python) turns a JSON scalar into text, for `--output text` and `table`.

/** Python's str() of a JSON scalar: None, True, False, or the value as written. */
export function pythonStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}
