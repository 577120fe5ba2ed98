// The CLI reads base64 (a blob value, a --starting-token) as the AWS CLI does, with Python's
// lenient base64.b64decode: checked against Python itself on odd inputs and random ones.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { pythonBase64 } from '../../src/cli/python-base64.js';

const python = spawnSync('python3', ['--version']).status === 0;

/** What Python's base64.b64decode answers for each text's UTF-8 bytes (as botocore decodes a token): hex, or null for an error. */
function pythonAnswers(texts: string[]): (string | null)[] {
  const script = `
import base64, json, sys
out = []
for s in json.load(sys.stdin):
    try: out.append(base64.b64decode(s.encode('utf-8')).hex())
    except Exception: out.append(None)
print(json.dumps(out))`;
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as (string | null)[];
}

t.test('odd inputs: skipped characters, padding that ends the input, groups cut short', { skip: python ? false : 'no python3 on this machine' }, async (t) => {
  const texts = ['YQ==YQ==', 'YWJj!', 'abc!!', 'Y=Q=', 'YQ=', 'YQ', 'YWJ=j', 'YW=Jj', 'YQ===', 'Y', '=YWJj', 'YW Jj\n', '', '====', 'YWJjZA', 'YWJjZA=', 'YWJjZA==', 'not base64!', 'é/+8', 'éYWJj', 'YW\u00a0Jj'];
  const expected = pythonAnswers(texts);
  texts.forEach((s, i) => t.equal(pythonBase64(s)?.toString('hex') ?? null, expected[i], JSON.stringify(s)));
});

t.test('random texts over the alphabet, padding and a few others', { skip: python ? false : 'no python3 on this machine' }, async (t) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/====!- \né';
  const texts = Array.from({ length: 2000 }, () => [...randomBytes(1 + (randomBytes(1)[0]! % 24))].map((b) => chars[b % chars.length]).join(''));
  const expected = pythonAnswers(texts);
  const differ = texts.filter((s, i) => (pythonBase64(s)?.toString('hex') ?? null) !== expected[i]);
  t.same(differ, [], 'every answer as Python gives it');
  t.ok(expected.some((e) => e === null) && expected.some((e) => e !== null), 'both answers occur');
});
