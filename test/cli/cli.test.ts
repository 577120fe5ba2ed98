// The ekms CLI in-process: values as the AWS CLI takes them, outputs and errors as it prints
// them, a signature made through the CLI verified with node:crypto, and --endpoint-url.
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { release as osRelease, type as osType } from 'node:os';

import t from 'tap';

import { parseArgs } from '../../src/cli/args.js';
import { kebab } from '../../src/cli/names.js';
import { splitPagingFlags } from '../../src/cli/paginate.js';
import { buildInput } from '../../src/cli/run-operation.js';
import { parseShorthand } from '../../src/cli/shorthand.js';
import { isoTimestamp, render } from '../../src/cli/output.js';
import { startServer } from '../../src/endpoint/index.js';
import { operationTable } from '../../src/index.js';
import { backends, cleanupLater, tempHome } from '../helpers/backends.js';
import { ekms } from './run.js';

function home(): string {
  const h = tempHome('ekms-cli-');
  cleanupLater(h);
  return h;
}

t.test('names as the AWS CLI derives them', async (tt) => {
  tt.equal(kebab('GenerateDataKeyPairWithoutPlaintext'), 'generate-data-key-pair-without-plaintext');
  tt.equal(kebab('ReEncrypt'), 're-encrypt');
  tt.equal(kebab('AWSAccountId'), 'aws-account-id');
  tt.equal(kebab('BypassPolicyLockoutSafetyCheck'), 'bypass-policy-lockout-safety-check');
  tt.equal(kebab('CloudHsmClusterId'), 'cloud-hsm-cluster-id');
  tt.equal(kebab('XksProxyUriEndpoint'), 'xks-proxy-uri-endpoint');
});

// What the AWS CLI's own parser (Debian's aws-cli 2.9.19, awscli.shorthand) makes of each input,
// its error messages included; a fuzz of 18,000 inputs built from these atoms found no other
// difference. Backslashes are kept except in `\,` (and `\\` or an escaped quote when quoted).
const awsShorthand: [string, unknown][] = [
  ["path=C:\\dir", {"path":"C:\\dir"}],
  ["k=v\\=x", {"k":"v\\=x"}],
  ["k=\"a\\\\b\"", {"k":"a\\b"}],
  ["k='it\\'s'", {"k":"it's"}],
  ["TagKey=dir,TagValue=C:\\temp", {"TagKey":"dir","TagValue":"C:\\temp"}],
  ["a=b, c=d", {"a":"b","c":"d"}],
  ["EncryptionContextSubset={a=b, c=d}", {"EncryptionContextSubset":{"a":"b","c":"d"}}],
  ["a=b,c=d,c=e", { error: "Second instance of key \"c\" encountered for input:\na=b,c=d,c=e\n        ^\nThis is often because there is a preceding \",\" instead of a space." }],
  ["owner=it's", { error: "Expected: ',', received: ''' for input:\nowner=it's\n        ^" }],
  ["k=a\"b", { error: "Expected: ',', received: '\"' for input:\nk=a\"b\n   ^" }],
  ["k=a}", { error: "Expected: ',', received: '}' for input:\nk=a}\n   ^" }],
  ["k=a,", { error: "Expected: '<second>', received: '<none>' for input:\nk=a,\n    ^" }],
  ["é=ü", { error: "Expected: '=', received: 'é' for input:\né=ü\n^" }],
  ["=b", {"":"b"}],
  ["TagKey=a,,TagValue=b", {"TagKey":"a","TagValue":"b"}],
  ["k=a\\,b", {"k":"a,b"}],
  ["k=a,b,c=d", {"k":["a","b"],"c":"d"}],
  ["k=[a, b ,c]", {"k":["a","b","c"]}],
  ["k={x=1,x=2}", {"k":{"x":"2"}}],
  ["k = v ", {"k":"v"}],
  ["k=😀", { error: "Expected: ',', received: '😀' for input:\nk=😀\n  ^" }],
  ["k=x😀", { error: "Expected: ',', received: '😀' for input:\nk=x😀\n   ^" }],
  ["novalue", { error: "Expected: '=', received: 'EOF' for input:\nnovalue\n       ^" }],
  ["a=b\nc", {"a":"b\nc"}],
  ["k=a,b]", {"k":["a","b]"]}],
];

// argparse lets the AWS CLI take a unique prefix of a global option (its main parser reads them
// first) and of a command's own options, the paging ones among them; each case matched aws 2.9.19.
t.test('abbreviated global and paging options', async (tt) => {
  const parsed = parseArgs(['describe-key', '--key-id', 'k', '--out', 'text', '--quer=KeyMetadata', '--reg', 'eu-west-1', '--no-pag']);
  tt.same([...parsed.globals], [['--output', 'text'], ['--query', 'KeyMetadata'], ['--region', 'eu-west-1']]);
  tt.ok(parsed.switches.has('--no-paginate'));
  tt.same(parsed.flags, [{ flag: '--key-id', values: ['k'] }], "a command flag stays the command's");
  tt.throws(() => parseArgs(['list-keys', '--no']), { message: 'ambiguous option: --no could match --no-verify-ssl, --no-paginate, --no-sign-request, --no-cli-pager, --no-cli-auto-prompt' });
  const { args, paging } = splitPagingFlags('ListKeys', parseArgs(['list-keys', '--max', '2', '--page', '1', '--start', 'tok', '--lim', '5']));
  tt.same([...paging], [['--max-items', '2'], ['--page-size', '1'], ['--starting-token', 'tok']]);
  tt.same(args.flags, [{ flag: '--lim', values: ['5'] }], "the command's own flags are left for it");
});

t.test('shorthand syntax', async (tt) => {
  tt.same(parseShorthand('TagKey=purpose,TagValue=test'), { TagKey: 'purpose', TagValue: 'test' });
  tt.same(parseShorthand('a=1,b=x,y,c=z'), { a: '1', b: ['x', 'y'], c: 'z' });
  tt.same(parseShorthand("k=[a,b],n={x=1,y='p,q'},q=\"s=t\""), { k: ['a', 'b'], n: { x: '1', y: 'p,q' }, q: 's=t' });
  // key@= (the AWS CLI's "file-optional-values"): the value goes through the paramfile loader.
  const loader = (v: string) => (v.startsWith('file://') ? `<${v.slice(7)}>` : v);
  tt.same(parseShorthand('a@=file:///x/y,b @= plain,c=file://z', loader), { a: '</x/y>', b: 'plain', c: 'file://z' });
  for (const [input, aws] of awsShorthand) {
    let ours: unknown;
    try {
      ours = parseShorthand(input);
    } catch (err) {
      ours = { error: (err as Error).message };
    }
    tt.same(ours, aws, JSON.stringify(input));
  }
});

// file:// is read as the AWS CLI reads it (Debian's aws-cli 2.9.19 sent and said the same for
// each case): strict UTF-8 with universal newlines, ~ and $VAR expanded, Python's error texts.
t.test('file:// parameters: text as the AWS CLI reads it', async (tt) => {
  const dir = home();
  const build = (op: Parameters<typeof buildInput>[0], argv: string[]) => buildInput(op, parseArgs([kebab(op), ...argv]));
  writeFileSync(join(dir, 'crlf.txt'), 'a\r\nb\rc\n');
  writeFileSync(join(dir, 'bom.txt'), Buffer.from([0xef, 0xbb, 0xbf, 0x62]));
  writeFileSync(join(dir, 'binary.bin'), Buffer.from([0x00, 0xff]));
  tt.same(build('DescribeKey', ['--key-id', `file://${join(dir, 'crlf.txt')}`]), { KeyId: 'a\nb\nc\n' }, 'line endings become \\n');
  tt.same(build('DescribeKey', ['--key-id', `file://${join(dir, 'bom.txt')}`]), { KeyId: '\ufeffb' }, 'a BOM is kept');
  process.env.EKMS_TEST_PARAM_DIR = dir;
  tt.teardown(() => delete process.env.EKMS_TEST_PARAM_DIR);
  for (const ref of ['$EKMS_TEST_PARAM_DIR', '${EKMS_TEST_PARAM_DIR}'])
    tt.same(build('DescribeKey', ['--key-id', `file://${ref}/crlf.txt`]), { KeyId: 'a\nb\nc\n' }, `${ref} expanded`);
  const refused = (argv: string[]) => {
    try {
      build('Encrypt', ['--key-id', 'k', ...argv]);
    } catch (err) {
      return { message: (err as Error).message, exitCode: (err as { exitCode?: number }).exitCode };
    }
    return undefined;
  };
  const binaryPath = join(dir, 'binary.bin');
  tt.same(refused(['--plaintext', `file://${binaryPath}`, '--cli-binary-format', 'raw-in-base64-out']), {
    message: `Error parsing parameter '--plaintext': Unable to load paramfile (${binaryPath}), text contents could not be decoded.  If this is a binary file, please use the fileb:// prefix instead of the file:// prefix.`,
    exitCode: 252,
  }, 'a binary file as text is refused, not mangled');
  tt.same(build('Encrypt', ['--key-id', 'k', '--plaintext', `fileb://${binaryPath}`]).Plaintext, 'AP8=', 'fileb:// reads it');
  tt.same(refused(['--plaintext', 'file://$NO_SUCH_VARIABLE/x']), {
    message: "Error parsing parameter '--plaintext': Unable to load paramfile file://$NO_SUCH_VARIABLE/x: [Errno 2] No such file or directory: '$NO_SUCH_VARIABLE/x'",
    exitCode: 252,
  });
});

// --cli-input-yaml as the AWS CLI reads it: each input here was sent the same by aws 2.9.19.
t.test('--cli-input-yaml, and --cli-input-json refusals', async (tt) => {
  const dir = home();
  const build = (op: Parameters<typeof buildInput>[0], argv: string[]) => buildInput(op, parseArgs([kebab(op), ...argv]));
  const yaml = ['KeyId: k', 'Plaintext: !!binary aGVsbG8=', 'EncryptionContext:', '  purpose: test', 'GrantTokens: [a, b]', ''].join('\n');
  writeFileSync(join(dir, 'in.yaml'), yaml);
  const expected = { KeyId: 'k', Plaintext: 'aGVsbG8=', EncryptionContext: { purpose: 'test' }, GrantTokens: ['a', 'b'] };
  tt.same(build('Encrypt', ['--cli-input-yaml', `file://${join(dir, 'in.yaml')}`]), expected, '!!binary is a blob');
  tt.same(build('Encrypt', ['--cli-input-yaml', yaml.replace('!!binary ', '')]), expected, 'a string is base64, as in --cli-input-json');
  tt.same(build('Encrypt', ['--cli-input-yaml', yaml, '--key-id', 'flag']).KeyId, 'flag', 'flags win');
  tt.same(
    build('ImportKeyMaterial', ['--cli-input-yaml', 'KeyId: k\nValidTo: 2030-01-01T00:00:00Z\nImportToken: !!binary AA==\nEncryptedKeyMaterial: !!binary AA==']).ValidTo,
    1893456000,
    'a YAML timestamp',
  );
  const refused = (argv: string[]) => {
    try {
      build('Encrypt', argv);
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  };
  tt.equal(refused(['--cli-input-yaml', 'a: [']), "Error parsing parameter 'cli-input-yaml': Invalid YAML received.");
  tt.equal(refused(['--cli-input-yaml', '- a']), "Error parsing parameter '--cli-input-yaml': Invalid type: expecting map, received <class 'list'>");
  tt.equal(refused(['--cli-input-yaml', yaml, '--cli-input-json', '{}']), 'Only one --cli-input- parameter may be specified.');
  // --cli-input-json's refusals, in the AWS CLI's words (botocore's for missing members).
  tt.equal(refused(['--cli-input-json', '{bad']), "Error parsing parameter 'cli-input-json': Invalid JSON received.");
  // A parameter's JSON is refused by where it breaks, never by quoting it (a file:// argument may
  // hold a secret: an XKS proxy's credential).
  const required = ['--key-id', 'k', '--plaintext', 'eA=='];
  tt.equal(refused([...required, '--encryption-context', '{"purpose": SECRETVALUE}']), "Error parsing parameter '--encryption-context': Invalid JSON");
  tt.match(refused([...required, '--encryption-context', '{"a": "b",}']), /^Error parsing parameter '--encryption-context': Invalid JSON( at character 11)?$/);
  tt.equal(refused(['--cli-input-json', '[1]']), "Error parsing parameter '--cli-input-json': Invalid type: expecting map, received <class 'list'>");
  tt.equal(refused(['--cli-input-json', '{}']), 'Parameter validation failed:\nMissing required parameter in input: "KeyId"\nMissing required parameter in input: "Plaintext"');
  tt.match(refused([]), /^the following arguments are required: --key-id, --plaintext$/, "without one, argparse's words");
});

t.test('flags → the wire input', async (tt) => {
  const dir = home();
  writeFileSync(join(dir, 'msg.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(dir, 'policy.json'), '{"Version":"2012-10-17"}');
  const build = (op: Parameters<typeof buildInput>[0], argv: string[]) => buildInput(op, parseArgs([kebab(op), ...argv]));

  tt.same(build('CreateKey', ['--tags', 'TagKey=a,TagValue=b', 'TagKey=c,TagValue=d', '--multi-region', '--description', 'x y']), {
    Tags: [
      { TagKey: 'a', TagValue: 'b' },
      { TagKey: 'c', TagValue: 'd' },
    ],
    MultiRegion: true,
    Description: 'x y',
  });
  tt.same(build('CreateKey', ['--tags', '[{"TagKey":"j","TagValue":"v"}]', '--no-multi-region', '--policy', `file://${join(dir, 'policy.json')}`]), {
    Tags: [{ TagKey: 'j', TagValue: 'v' }],
    MultiRegion: false,
    Policy: '{"Version":"2012-10-17"}',
  });
  tt.same(build('Encrypt', ['--key-id', 'k', '--plaintext', `fileb://${join(dir, 'msg.bin')}`, '--encryption-context', 'purpose=test,team=a=b']), {
    KeyId: 'k',
    Plaintext: 'AAEC/w==',
    EncryptionContext: { purpose: 'test', team: 'a=b' },
  }, 'fileb:// reads raw bytes; map shorthand');
  tt.same(build('Encrypt', ['--key-id', 'k', '--plaintext', 'aGVsbG8=', '--encryption-context', '{"a":"b"}']), { KeyId: 'k', Plaintext: 'aGVsbG8=', EncryptionContext: { a: 'b' } });
  writeFileSync(join(dir, 'context.txt'), 'from a file');
  tt.same(
    build('Encrypt', ['--key-id', 'k', '--plaintext', 'aGVsbG8=', '--encryption-context', `a@=file://${join(dir, 'context.txt')},b=2`]),
    { KeyId: 'k', Plaintext: 'aGVsbG8=', EncryptionContext: { a: 'from a file', b: '2' } },
    'key@=file:// loads the text',
  );
  // A list flag takes any number of values (argparse's nargs='*'): none is an empty list.
  tt.same(build('Encrypt', ['--key-id', 'k', '--plaintext', 'aGVsbG8=', '--grant-tokens']), { KeyId: 'k', Plaintext: 'aGVsbG8=', GrantTokens: [] });
  tt.same(build('TagResource', ['--key-id', 'k', '--tags']), { KeyId: 'k', Tags: [] });
  tt.same(buildInput('Encrypt', parseArgs(['encrypt', '--key-id', 'k', '--plaintext', 'hello', '--cli-binary-format', 'raw-in-base64-out'])), { KeyId: 'k', Plaintext: 'aGVsbG8=' });
  tt.same(build('GenerateRandom', ['--number-of-bytes', '32']), { NumberOfBytes: 32 });
  tt.same(build('DescribeKey', ['--key-id', 'k', '--grant-tokens', 'g1', 'g2']), { KeyId: 'k', GrantTokens: ['g1', 'g2'] });
  tt.same(build('DescribeKey', ['--cli-input-json', '{"KeyId":"from-json","GrantTokens":["g"]}', '--key-id', 'from-flag']), { KeyId: 'from-flag', GrantTokens: ['g'] }, 'flags override --cli-input-json');
  tt.same(build('DescribeKey', ['--key-id=inline']), { KeyId: 'inline' });
  tt.same(build('ImportKeyMaterial', ['--key-id', 'k', '--import-token', 'AA==', '--encrypted-key-material', 'AA==', '--valid-to', '2030-01-01T00:00:00Z']), {
    KeyId: 'k',
    ImportToken: 'AA==',
    EncryptedKeyMaterial: 'AA==',
    ValidTo: 1893456000,
  });
  // A timestamp that names no zone is UTC, as botocore reads it, whatever the machine's zone
  // (Node applies a TZ set at run time); ISO 8601's basic form too.
  const zone = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    const validTo = (text: string) => (build('ImportKeyMaterial', ['--key-id', 'k', '--import-token', 'AA==', '--encrypted-key-material', 'AA==', '--valid-to', text]) as { ValidTo: number }).ValidTo;
    for (const text of ['2030-01-01T00:00:00', '2030-01-01 00:00', '2030-01-01', 'Jan 1 2030', '20300101T000000Z', '2030-01-01T05:30:00+05:30', '2030-01-01T05:30:00+0530'])
      tt.equal(validTo(text), 1893456000, text);
    tt.equal(validTo('2030-01-01T00:00:00.5Z'), 1893456000.5);
  } finally {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
});

t.test('output formats', async (tt) => {
  tt.match(isoTimestamp(1700000000.123), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.123000[+-]\d{2}:\d{2}$/);
  tt.match(isoTimestamp(1700000000), /:\d{2}[+-]\d{2}:\d{2}$/, 'no fraction when there is none, as Python');
  const v = { Keys: [{ KeyId: 'a', KeyArn: 'arn:a' }, { KeyId: 'b', KeyArn: 'arn:b' }], Truncated: false };
  tt.equal(render(v, 'text', false), 'False\nKEYS\tarn:a\ta\nKEYS\tarn:b\tb\n', 'the AWS CLI text format');
  tt.equal(render({}, 'json', false), '', 'an empty response prints nothing');
  tt.equal(render(null, 'json', true), 'null\n');
});

for (const backend of backends()) {
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => ekms(argv, env, backend.open);

  t.test(`sign through the CLI, verified with node:crypto from get-public-key [${backend.name}]`, async (tt) => {
    const dir = home();
    const created = await run(['create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY', '--home', dir, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
    tt.equal(created.code, 0, created.stderr);
    const keyId = created.stdout.trim();
    tt.match(keyId, /^[0-9a-f-]{36}$/);
    const message = Buffer.from('signed by the ekms CLI');
    writeFileSync(join(dir, 'message'), message);
    const signed = await run(['sign', '--key-id', keyId, '--message', `fileb://${join(dir, 'message')}`, '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256', '--home', dir]);
    tt.equal(signed.code, 0, signed.stderr);
    const out = JSON.parse(signed.stdout) as { KeyId: string; Signature: string; SigningAlgorithm: string };
    tt.equal(out.SigningAlgorithm, 'ECDSA_SHA_256');
    tt.match(out.KeyId, /^arn:aws:kms:/);
    const pub = await run(['get-public-key', '--key-id', keyId, '--home', dir, '--output', 'text', '--query', 'PublicKey']);
    tt.equal(pub.code, 0, pub.stderr);
    const key = createPublicKey({ key: Buffer.from(pub.stdout.trim(), 'base64'), format: 'der', type: 'spki' });
    tt.ok(cryptoVerify('sha256', message, key, Buffer.from(out.Signature, 'base64')), 'node:crypto verifies the CLI signature');
    tt.notOk(cryptoVerify('sha256', Buffer.from('tampered'), key, Buffer.from(out.Signature, 'base64')));

    const verified = await run(['verify', '--key-id', keyId, '--message', message.toString('base64'), '--signature', out.Signature, '--signing-algorithm', 'ECDSA_SHA_256', '--home', dir]);
    tt.equal(verified.code, 0, verified.stderr);
    tt.equal((JSON.parse(verified.stdout) as { SignatureValid: boolean }).SignatureValid, true);
  });

  t.test(`encrypt, save the blob, decrypt from fileb:// [${backend.name}]`, async (tt) => {
    const dir = home();
    const id = (await run(['create-key', '--home', dir, '--query', 'KeyMetadata.Arn', '--output', 'text'])).stdout.trim();
    const enc = await run(['encrypt', '--key-id', id, '--plaintext', Buffer.from('top secret').toString('base64'), '--encryption-context', 'purpose=test', '--home', dir, '--output', 'text', '--query', 'CiphertextBlob']);
    tt.equal(enc.code, 0, enc.stderr);
    writeFileSync(join(dir, 'blob'), Buffer.from(enc.stdout.trim(), 'base64'));
    const dec = await run(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'blob')}`, '--encryption-context', 'purpose=test', '--home', dir]);
    tt.equal(dec.code, 0, dec.stderr);
    const out = JSON.parse(dec.stdout) as { Plaintext: string; KeyId: string; EncryptionAlgorithm: string };
    tt.equal(Buffer.from(out.Plaintext, 'base64').toString(), 'top secret');
    tt.equal(out.KeyId, id);
    const wrongContext = await run(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'blob')}`, '--encryption-context', 'purpose=other', '--home', dir]);
    tt.equal(wrongContext.code, 254);
    tt.equal(wrongContext.stderr, '\nAn error occurred (InvalidCiphertextException) when calling the Decrypt operation: \n');
    tt.notMatch(wrongContext.stderr + wrongContext.stdout, /top secret/);
  });
}

t.test('errors and exit codes as the AWS CLI', async (tt) => {
  const dir = home();
  const missing = await ekms(['describe-key', '--key-id', '00000000-0000-4000-8000-000000000000', '--home', dir]);
  tt.equal(missing.code, 254);
  tt.equal(missing.stdout, '');
  tt.equal(
    missing.stderr,
    "\nAn error occurred (NotFoundException) when calling the DescribeKey operation: Key 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000' does not exist\n",
  );
  const validation = await ekms(['create-key', '--key-usage', 'RANDOM', '--home', dir]);
  tt.equal(validation.code, 254);
  tt.match(validation.stderr, /^\nAn error occurred \(ValidationException\) when calling the CreateKey operation: 1 validation error detected: Value 'RANDOM' at 'keyUsage'/);

  const required = await ekms(['sign', '--key-id', 'k', '--home', dir]);
  tt.equal(required.code, 252);
  tt.match(required.stderr, /^usage: ekms/);
  tt.match(required.stderr, /the following arguments are required: --message, --signing-algorithm/);
  const unknownFlag = await ekms(['list-keys', '--bogus', 'x', '--home', dir]);
  tt.equal(unknownFlag.code, 252);
  // After the usage, as the AWS CLI prints it: no `error:` before it.
  tt.match(unknownFlag.stderr, /^usage: ekms[\s\S]*\n\nUnknown options: --bogus, x\n$/);
  tt.notMatch(unknownFlag.stderr, /error:/);
  // So are words left after a flag's value.
  const extra = await ekms(['describe-key', '--key-id', 'k', 'x', '--home', dir]);
  tt.equal(extra.code, 252);
  tt.match(extra.stderr, /^usage: ekms[\s\S]*\n\nUnknown options: x\n$/);
  // A flag given without its value is argparse's refusal: the usage, then `ekms: error:`.
  const noValue = await ekms(['encrypt', '--key-id', '--plaintext', 'aGk=', '--home', dir]);
  tt.equal(noValue.code, 252);
  tt.match(noValue.stderr, /^usage: ekms[\s\S]*\nekms: error: argument --key-id: expected one argument\n$/);
  const unknownCommand = await ekms(['fly-to-the-moon']);
  tt.equal(unknownCommand.code, 252);
  tt.match(unknownCommand.stderr, /Invalid choice 'fly-to-the-moon'/);
  tt.notMatch(unknownCommand.stderr, /maybe you meant/, 'nothing alike, nothing suggested');
  // As the AWS CLI does: the commands a typo may have meant.
  const typo = await ekms(['describe-kye']);
  tt.equal(typo.code, 252);
  tt.match(typo.stderr, /Invalid choice 'describe-kye'.*maybe you meant:\n\n {2}\* describe-key\n/s);
  tt.match((await ekms(['bakcup'])).stderr, /\* backup/, 'store commands too');
  const none = await ekms([]);
  tt.equal(none.code, 252);
  // The AWS CLI meets a bad base64 value only while converting it, and exits 255.
  const badB64 = await ekms(['encrypt', '--key-id', 'k', '--plaintext', 'not base64!', '--home', dir]);
  tt.equal(badB64.code, 255);
  tt.match(badB64.stderr, /Invalid base64 in --plaintext/);
  tt.notMatch(badB64.stderr, /not base64!/, 'the value (maybe a plaintext) is not echoed');
  // Python decodes leniently, skipping what is outside the alphabet, but refuses a text that is not ASCII.
  const lenient = await ekms(['encrypt', '--key-id', 'k', '--plaintext', 'aGk=!', '--home', dir]);
  tt.notMatch(lenient.stderr, /Invalid base64/, 'a stray ASCII character is skipped');
  const accented = await ekms(['encrypt', '--key-id', 'k', '--plaintext', 'h\u00e9llo w\u00f6rld', '--home', dir]);
  tt.equal(accented.code, 255);
  tt.match(accented.stderr, /Invalid base64 in --plaintext/, 'text that is not ASCII is no base64');
  const noFile = await ekms(['encrypt', '--key-id', 'k', '--plaintext', 'fileb:///nonexistent/file', '--home', dir]);
  tt.equal(noFile.code, 252);
  tt.match(noFile.stderr, /Unable to load paramfile fileb:\/\/\/nonexistent\/file: \[Errno 2\] No such file or directory: '\/nonexistent\/file'/);
  const badOutput = await ekms(['list-keys', '--output', 'xml', '--home', dir]);
  tt.equal(badOutput.code, 252);
  const badQuery = await ekms(['list-keys', '--query', 'Keys[', '--home', dir]);
  tt.equal(badQuery.code, 252);
  tt.match(badQuery.stderr, /Bad value for --query/);
  // jmespath.js parses `a..b` into a tree with a hole (it failed later, a TypeError, exit 255).
  const doubleDot = await ekms(['list-keys', '--query', 'Keys..KeyId', '--home', dir]);
  tt.same({ code: doubleDot.code, stderr: doubleDot.stderr }, { code: 252, stderr: '\nBad value for --query Keys..KeyId: Invalid jmespath expression\n' });
  tt.equal((await ekms(['list-keys', '--query', 'Keys[1:]', '--home', dir])).code, 0, 'a slice with open ends is no hole');
  // max_by and min_by take string keys as numbers (the spec; jmespath.js gave null for strings):
  // the latest rotation by its printed date.
  const keyId = (await ekms(['create-key', '--home', dir, '--query', 'KeyMetadata.KeyId', '--output', 'text'])).stdout.trim();
  for (let i = 0; i < 3; i++) await ekms(['rotate-key-on-demand', '--key-id', keyId, '--home', dir]);
  const rotations = JSON.parse((await ekms(['list-key-rotations', '--key-id', keyId, '--home', dir])).stdout).Rotations as { KeyMaterialId: string; RotationDate: string }[];
  const byDate = [...rotations].sort((a, b) => a.RotationDate.localeCompare(b.RotationDate));
  tt.equal(new Set(rotations.map((r) => r.RotationDate)).size, 3, 'three dates');
  for (const [fn, want] of [['max_by', byDate[2]], ['min_by', byDate[0]]] as const) {
    const got = await ekms(['list-key-rotations', '--key-id', keyId, '--home', dir, '--query', `${fn}(Rotations, &RotationDate).KeyMaterialId`, '--output', 'text']);
    tt.equal(got.stdout, `${want!.KeyMaterialId}\n`, `${fn} by a date string`);
  }
  for (const name of ['alias/b-last', 'alias/a-first']) await ekms(['create-alias', '--alias-name', name, '--target-key-id', keyId, '--home', dir]);
  const byAlias = await ekms(['list-aliases', '--home', dir, '--query', 'max_by(Aliases, &AliasName).AliasName', '--output', 'text']);
  tt.equal(byAlias.stdout, 'alias/b-last\n', byAlias.stderr);
  // An expression reference is no value to print (aws: its JSON encoder's words, exit 255).
  const expref = await ekms(['list-keys', '--query', '&Keys', '--home', dir]);
  tt.same({ code: expref.code, stdout: expref.stdout, stderr: expref.stderr }, { code: 255, stdout: '', stderr: '\nCircular reference detected\n' });
});

t.test('values, --query and flags as the AWS CLI reads them', async (tt) => {
  const dir = home();
  const keyId = (await ekms(['create-key', '--home', dir, '--query', 'KeyMetadata.KeyId', '--output', 'text'])).stdout.trim();
  // Python's int(): a sign and underscores; anything else exits 255 with its message.
  const plus = await ekms(['generate-random', '--number-of-bytes', '+1_6', '--home', dir, '--query', 'length(Plaintext)']);
  tt.equal(plus.stdout, '24\n', `16 bytes: ${plus.stderr}`);
  const notInt = await ekms(['list-keys', '--limit', 'abc', '--home', dir]);
  tt.same([notInt.code, notInt.stderr], [255, "\ninvalid literal for int() with base 10: 'abc'\n"]);
  // Base64 wrapped over lines (as `base64` prints it) is read as Python reads it.
  const wrapped = await ekms(['encrypt', '--key-id', keyId, '--plaintext', 'aGVs\nbG8=', '--home', dir, '--query', 'KeyId', '--output', 'text']);
  tt.equal(wrapped.code, 0, wrapped.stderr);
  // A query that parses but fails on the response is the AWS CLI's exit 255, with jmespath's message.
  const unknownFunction = await ekms(['list-keys', '--query', 'foo(@)', '--home', dir]);
  tt.same([unknownFunction.code, unknownFunction.stderr], [255, '\nUnknown function: foo()\n']);
  // A unique prefix of a flag stands for it, as with argparse; an ambiguous one is refused.
  const prefix = await ekms(['describe-key', '--key', keyId, '--home', dir, '--query', 'KeyMetadata.KeyId', '--output', 'text']);
  tt.equal(prefix.stdout.trim(), keyId, prefix.stderr);
  const ambiguous = await ekms(['create-key', '--key', 'SIGN_VERIFY', '--home', dir]);
  tt.equal(ambiguous.code, 252);
  tt.match(ambiguous.stderr, /ambiguous option: --key could match --key-usage, --key-spec/);
  // botocore's checks of JSON values: their types, and the required members of nested structures.
  const notString = await ekms(['encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--encryption-context', '{"a":1}', '--home', dir]);
  tt.same(
    [notString.code, notString.stderr],
    [252, "\nParameter validation failed:\nInvalid type for parameter EncryptionContext.a, value: 1, type: <class 'int'>, valid types: <class 'str'>\n"],
  );
  const stringNumber = await ekms(['generate-random', '--cli-input-json', '{"NumberOfBytes":"16"}', '--home', dir]);
  tt.same(
    [stringNumber.code, stringNumber.stderr],
    [252, "\nParameter validation failed:\nInvalid type for parameter NumberOfBytes, value: 16, type: <class 'str'>, valid types: <class 'int'>\n"],
  );
  const noValue = await ekms(['tag-resource', '--key-id', keyId, '--tags', 'TagKey=x', '--home', dir]);
  tt.same([noValue.code, noValue.stderr], [252, '\nParameter validation failed:\nMissing required parameter in Tags[0]: "TagValue"\n']);
  const tagged = await ekms(['list-resource-tags', '--key-id', keyId, '--home', dir, '--query', 'length(Tags)']);
  tt.equal(tagged.stdout, '0\n', 'nothing was sent');
  const noScheme = await ekms(['list-keys', '--endpoint-url', '127.0.0.1:4599']);
  tt.same([noScheme.code, noScheme.stderr], [252, '\nBad value for --endpoint-url "127.0.0.1:4599": scheme is missing.  Must be of the form http://<hostname>/ or https://<hostname>/\n']);
  const badColor = await ekms(['list-keys', '--color', 'bogus', '--home', dir]);
  tt.equal(badColor.code, 252);
});

t.test('the output settings of the environment and the profile, as the AWS CLI takes them', async (tt) => {
  const dir = home();
  const config = join(dir, 'aws-config');
  // `none`: AWS CLI v1's older name for `wire`.
  writeFileSync(config, '[default]\noutput = text\ncli_binary_format = raw-in-base64-out\ncli_timestamp_format = none\n[profile json]\noutput = json\n');
  const env = { AWS_CONFIG_FILE: config };
  const created = await ekms(['create-key', '--home', dir, '--query', 'KeyMetadata.[KeyId,CreationDate]'], env);
  tt.equal(created.code, 0, created.stderr);
  const [keyId, created_] = created.stdout.trim().split('\t');
  tt.match(keyId, /^[0-9a-f-]{36}$/, 'text output, from the profile');
  tt.match(created_, /^\d+(\.\d+)?$/, 'epoch seconds (cli_timestamp_format = wire)');
  const raw = await ekms(['encrypt', '--key-id', keyId!, '--plaintext', 'hello', '--home', dir, '--query', 'KeyId'], env);
  tt.equal(raw.code, 0, `cli_binary_format = raw-in-base64-out: ${raw.stderr}`);
  const fromEnv = await ekms(['describe-key', '--key-id', keyId!, '--home', dir, '--query', 'KeyMetadata.KeyId'], { ...env, AWS_DEFAULT_OUTPUT: 'json' });
  tt.equal(fromEnv.stdout, `"${keyId}"\n`, 'AWS_DEFAULT_OUTPUT outranks the profile');
  const byProfile = await ekms(['describe-key', '--key-id', keyId!, '--home', dir, '--query', 'KeyMetadata.KeyId', '--profile', 'json'], env);
  tt.equal(byProfile.stdout, `"${keyId}"\n`, 'the named profile');
  const flag = await ekms(['describe-key', '--key-id', keyId!, '--home', dir, '--query', 'KeyMetadata.KeyId', '--output', 'json'], env);
  tt.equal(flag.stdout, `"${keyId}"\n`, '--output outranks both');
  // A profile named that neither file has is the AWS CLI's error, without an endpoint too.
  for (const [args, extra] of [
    [['--profile', 'nosuch'], {}],
    [[], { AWS_PROFILE: 'nosuch' }],
  ] as const) {
    const missing = await ekms(['list-keys', '--home', dir, ...args], { ...env, ...extra });
    tt.equal(missing.code, 255, JSON.stringify([args, extra]));
    tt.equal(missing.stderr, '\nThe config profile (nosuch) could not be found\n');
  }
});

t.test('help from the model', async (tt) => {
  const top = await ekms(['help']);
  tt.equal(top.code, 0);
  for (const op of operationTable.keys()) tt.match(top.stdout, new RegExp(`^ {7}${kebab(op)}$`, 'm'), `lists ${kebab(op)}`);
  tt.match(top.stdout, /serve/);
  const create = await ekms(['create-key', 'help']);
  tt.equal(create.code, 0);
  tt.match(create.stdout, /--key-spec <value>/);
  tt.match(create.stdout, /--multi-region \| --no-multi-region/);
  tt.match(create.stdout, /one of: .*ECC_NIST_P521/);
  tt.match(create.stdout, /TagKey \(string; required; length 1\.\.128 characters\)/);
  const sign = await ekms(['sign', '--help']);
  tt.match(sign.stdout, /^ {10}--key-id <value>$/m, 'required flags are not bracketed');
  // The listings' paging flags and the global options a user of `aws` reaches for are in the help.
  tt.match((await ekms(['list-keys', 'help'])).stdout, /\[--starting-token <value>\] \[--page-size <value>\] \[--max-items <value>\] \[--no-paginate\]/);
  tt.notMatch((await ekms(['describe-key', 'help'])).stdout, /--page-size/, 'not on a command that is no listing');
  for (const flag of ['--profile', '--ca-bundle', '--no-sign-request', '--no-verify-ssl', '--no-paginate']) tt.match(top.stdout, new RegExp(`^ {7}${flag} `, 'm'), `${flag} in ekms --help`);
  const version = await ekms(['--version']);
  const { version: packaged } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  tt.equal(version.code, 0);
  tt.equal(version.stdout, `ekms/${packaged} embedded-kms node/${process.version} ${osType()}/${osRelease()}\n`, 'as aws --version: name/version, then the platform');
  tt.match(sign.stdout, /--message  \(Message: blob; required; length 1\.\.4096 bytes/);
  // Every flag of `ekms serve` is explained in its help, not only named in the usage line.
  const serveHelp = await ekms(['serve', 'help']);
  tt.equal(serveHelp.code, 0);
  for (const flag of ['--host', '--port', '--auth', '--tls-cert', '--tls-key', '--max-body-bytes', '--allowed-host', '--no-console', '--workers'])
    tt.match(serveHelp.stdout, new RegExp(`^  (--[a-z-]+/)?${flag}(/--[a-z-]+)? `, 'm'), `${flag} explained`);
  tt.match(serveHelp.stdout, /--max-body-bytes .*\(default 1048576\)/);
});

t.test('--endpoint-url: through the endpoint, signed with the environment credentials', async (tt) => {
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map([['AKIDCLI', 'cli-secret']]) });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const env = { AWS_ACCESS_KEY_ID: 'AKIDCLI', AWS_SECRET_ACCESS_KEY: 'cli-secret', AWS_REGION: 'us-east-1' };
  const created = await ekms(['create-key', '--key-spec', 'ECC_NIST_P384', '--key-usage', 'SIGN_VERIFY', '--endpoint-url', server.url], env);
  tt.equal(created.code, 0, created.stderr);
  const md = (JSON.parse(created.stdout) as { KeyMetadata: { KeyId: string; SigningAlgorithms: string[]; CreationDate: string } }).KeyMetadata;
  tt.same(md.SigningAlgorithms, ['ECDSA_SHA_384']);
  tt.match(md.CreationDate, /^\d{4}-\d{2}-\d{2}T.*[+-]\d{2}:\d{2}$/);
  tt.equal((await kms.execute('DescribeKey', { KeyId: md.KeyId })).KeyMetadata?.KeySpec, 'ECC_NIST_P384', 'the key is in the served store');

  const wrong = await ekms(['list-keys', '--endpoint-url', server.url], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' });
  tt.equal(wrong.code, 254);
  tt.match(wrong.stderr, /^\nAn error occurred \(InvalidSignatureException\) when calling the ListKeys operation: The request signature we calculated does not match/);
  const unsigned = await ekms(['list-keys', '--endpoint-url', server.url], {});
  tt.equal(unsigned.code, 254);
  tt.match(unsigned.stderr, /MissingAuthenticationTokenException/);
  const nowhere = await ekms(['list-keys', '--endpoint-url', 'http://127.0.0.1:1'], env);
  tt.equal(nowhere.code, 255);
  tt.equal(nowhere.stderr, '\nCould not connect to the endpoint URL: "http://127.0.0.1:1/"\n', "botocore's words and the URL it requested");
});

// Listings as `aws kms` prints them: every page followed and the items printed as one list
// (no NextMarker, no Truncated), --page-size, --max-items with a NextToken that --starting-token
// resumes from, and one page only when the command asks for one (--no-paginate, --limit, --marker).
t.test('listings are followed page by page, as the AWS CLI does', async (tt) => {
  const h = home();
  const { Kms } = await import('../../src/index.js');
  const kms = await Kms.open({ home: h });
  // 61 aliases over two keys: more than a page of 50, within AWS's quota of 50 per key.
  const keyIds = [(await kms.createKey({})).KeyMetadata!.KeyId!, (await kms.createKey({})).KeyMetadata!.KeyId!];
  const keyId = keyIds[0]!;
  const names = Array.from({ length: 61 }, (_, i) => `alias/page-${String(i).padStart(2, '0')}`);
  for (const [i, n] of names.entries()) await kms.createAlias({ AliasName: n, TargetKeyId: keyIds[i % 2] });
  const server = await startServer(kms, { port: 0 });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const listed = (r: { stdout: string }) => (JSON.parse(r.stdout) as { Aliases: { AliasName: string }[] }).Aliases.map((a) => a.AliasName);

  for (const where of [['--endpoint-url', server.url], ['--home', h]]) {
    const all = await ekms(['list-aliases', ...where]);
    tt.equal(all.code, 0, `${where[0]}: list-aliases`);
    const parsed = JSON.parse(all.stdout) as Record<string, unknown>;
    tt.same(Object.keys(parsed), ['Aliases'], `${where[0]}: only the items, as aws kms prints them`);
    tt.same(listed(all), names, `${where[0]}: all ${names.length} aliases over two pages of 50, in order`);
    tt.same(listed(await ekms(['list-aliases', '--page-size', '7', ...where])), names, `${where[0]}: --page-size 7 gives the same list`);

    // --max-items: a NextToken, and --starting-token resumes exactly there (here mid-page).
    const chained: string[] = [];
    let token: string | undefined;
    let calls = 0;
    do {
      const r = await ekms(['list-aliases', '--page-size', '7', '--max-items', '10', ...(token ? ['--starting-token', token] : []), ...where]);
      tt.equal(r.code, 0);
      const page = JSON.parse(r.stdout) as { Aliases: { AliasName: string }[]; NextToken?: string };
      chained.push(...page.Aliases.map((a) => a.AliasName));
      token = page.NextToken;
      calls += 1;
    } while (token !== undefined && calls < 20);
    tt.equal(calls, 7, `${where[0]}: 61 aliases in runs of 10 take 7 commands`);
    tt.same(chained, names, `${where[0]}: --max-items runs chained by --starting-token give every alias once, in order`);

    const one = JSON.parse((await ekms(['list-aliases', '--no-paginate', ...where])).stdout) as { Aliases: unknown[]; Truncated: boolean; NextMarker?: string };
    tt.equal(one.Aliases.length, 50, `${where[0]}: --no-paginate prints one page`);
    tt.equal(one.Truncated, true);
    tt.type(one.NextMarker, 'string');
    const limited = JSON.parse((await ekms(['list-aliases', '--limit', '5', ...where])).stdout) as { Aliases: unknown[]; Truncated: boolean };
    tt.equal(limited.Aliases.length, 5, `${where[0]}: --limit asks for one page, as with aws kms`);
    tt.equal(limited.Truncated, true);
    const marked = JSON.parse((await ekms(['list-aliases', '--marker', one.NextMarker!, ...where])).stdout) as { Aliases: unknown[] };
    tt.equal(marked.Aliases.length, 11, `${where[0]}: --marker continues from that page only`);
  }
  // botocore's PaginationError: its prefix, exit 255 (checked against aws-cli 1.45).
  const both = await ekms(['list-aliases', '--max-items', '3', '--limit', '5', '--starting-token', 'x', '--home', h]);
  tt.equal(both.code, 255);
  tt.equal(both.stderr, '\nError during pagination: Cannot specify --no-paginate along with pagination arguments: --starting-token, --max-items\n', "the AWS CLI's message, its order");
  // Python's truth: --max-items 0 counts as not given.
  // But it is still put in the request, as PaginationConfig, which parameter validation refuses
  // (aws-cli 1.45's words, after its warning).
  const refusedConfig = '\nParameter validation failed:\nUnknown parameter in input: "PaginationConfig", must be one of: KeyId, Limit, Marker\n';
  const zeroWithLimit = await ekms(['list-aliases', '--max-items', '0', '--limit', '5', '--home', h]);
  tt.equal(zeroWithLimit.code, 252);
  tt.equal(zeroWithLimit.stderr, `warning: Non-positive values for --max-items may result in undefined behavior.\n${refusedConfig}`);
  for (const flags of [['--page-size', '0', '--no-paginate'], ['--starting-token=', '--marker', 'm'], ['--max-items', '0_0', '--page-size', '+0', '--limit', '5']]) {
    const r = await ekms(['list-aliases', ...flags, '--home', h]);
    tt.equal(r.code, 252, flags.join(' '));
    tt.ok(r.stderr.endsWith(refusedConfig), `${flags.join(' ')}: ${r.stderr}`);
  }
  const pythonInt = await ekms(['list-aliases', '--max-items', ' 1_0 ', '--home', h]);
  tt.equal(pythonInt.code, 0, "--max-items is read as Python's int() reads it");
  tt.equal((JSON.parse(pythonInt.stdout) as { Aliases: unknown[] }).Aliases.length, 10);
  // A Limit or Marker in --cli-input-json is no page asked for: the AWS CLI looks at the flags,
  // and pages with that Limit as the page size (and from that Marker).
  const all = JSON.parse((await ekms(['list-aliases', '--home', h])).stdout) as { Aliases: { AliasName: string }[] };
  const viaJson = JSON.parse((await ekms(['list-aliases', '--cli-input-json', '{"Limit": 7}', '--home', h])).stdout) as { Aliases: { AliasName: string }[]; NextMarker?: string };
  tt.same(viaJson.Aliases.map((a) => a.AliasName), all.Aliases.map((a) => a.AliasName), 'every page followed, 7 at a time');
  tt.equal(viaJson.NextMarker, undefined);
  const cut = JSON.parse((await ekms(['list-aliases', '--cli-input-json', '{"Limit": 7}', '--max-items', '9', '--home', h])).stdout) as { Aliases: unknown[]; NextToken?: string };
  tt.equal(cut.Aliases.length, 9, 'and --max-items applies to it');
  tt.type(cut.NextToken, 'string');
  // A token that is not one of ours is the Marker itself, as botocore takes it: the service judges.
  const bad = await ekms(['list-aliases', '--starting-token', 'not-a-token', '--home', h]);
  tt.equal(bad.code, 254);
  tt.match(bad.stderr, /InvalidMarkerException/);
  const foreign = await ekms(['list-aliases', '--starting-token', Buffer.from('{"Foo": "x"}').toString('base64'), '--home', h]);
  tt.equal(foreign.code, 252);
  tt.match(foreign.stderr, /^\nParameter validation failed:\nUnknown parameter in input: "Foo", must be one of: KeyId, Limit, Marker\n$/);
  const zeroPage = await ekms(['list-aliases', '--page-size', '0', '--home', h]);
  tt.equal(zeroPage.code, 252, '--page-size 0 is refused before sending');
  tt.match(zeroPage.stderr, /Invalid value for parameter Limit, value: 0, valid min value: 1/);
  const noMax = await ekms(['list-aliases', '--max-items', '0', '--home', h]);
  tt.equal(noMax.code, 0);
  const nonPositive = 'warning: Non-positive values for --max-items may result in undefined behavior.\n';
  tt.equal(noMax.stderr, nonPositive, "the AWS CLI's warning (1.45's words)");
  // As the AWS CLI (2.9.19 and 1.45 both) prints it: botocore cuts the first page as Python
  // slices it, and the NextToken carries the amount.
  const truncatedToken = (amount: number) => Buffer.from(`{"Marker": null, "boto_truncate_amount": ${amount}}`).toString('base64');
  tt.same(JSON.parse(noMax.stdout), { Aliases: [], NextToken: truncatedToken(0) }, '--max-items 0: nothing, and where to resume');
  const allButTwo = await ekms(['list-aliases', '--max-items', '-2', '--home', h]);
  tt.equal(allButTwo.code, 0);
  tt.same(listed(allButTwo), names.slice(0, 48), '--max-items -2: the first page (50) but its last 2');
  tt.equal(JSON.parse(allButTwo.stdout).NextToken, truncatedToken(-2));
  tt.equal(allButTwo.stderr, nonPositive);
  tt.equal((await ekms(['list-aliases', '--max-items', '3', '--home', h])).stderr, '', 'none for a positive --max-items');

  // Text output page by page, each page through --query, and the NextToken last.
  const counts = await ekms(['list-aliases', '--query', 'length(Aliases)', '--output', 'text', '--home', h]);
  tt.equal(counts.stdout, '50\n11\n', 'text: --query runs on each page');
  const text = await ekms(['list-aliases', '--page-size', '7', '--max-items', '10', '--output', 'text', '--home', h]);
  const lines = text.stdout.trim().split('\n');
  tt.equal(lines.filter((l) => l.startsWith('ALIASES\t')).length, 10);
  tt.match(lines[lines.length - 1], /^NEXTTOKEN\t[A-Za-z0-9+/=]+$/, 'the NextToken comes last, as NEXTTOKEN');
  const token = lines[lines.length - 1]!.split('\t')[1]!;
  tt.match(Buffer.from(token, 'base64').toString(), /^\{"Marker": "ekms2:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{8}", "boto_truncate_amount": 3\}$/, "botocore's token: Python's separators");
  const notListing = await ekms(['describe-key', '--key-id', keyId, '--max-items', '2', '--home', h]);
  tt.equal(notListing.code, 252);
  tt.match(notListing.stderr, /Unknown options: --max-items, 2/);
  const keys = JSON.parse((await ekms(['list-keys', '--home', h])).stdout) as Record<string, unknown>;
  tt.same(Object.keys(keys), ['Keys'], 'list-keys prints only Keys');
});

// --endpoint-url with the AWS CLI's configuration: a profile's keys from the shared credentials
// file (--profile outranks the environment's keys, AWS_PROFILE does not), its region from the
// config file, and a CA bundle for an HTTPS endpoint (--ca-bundle, AWS_CA_BUNDLE).
t.test('--profile, the shared credentials and config files, --ca-bundle', async (tt) => {
  const dir = home();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0, auth: 'sigv4', accessKeys: new Map([['AKIDPROFILE', 'profile-secret']]), tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  tt.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const credentials = join(dir, 'credentials');
  writeFileSync(credentials, '# a comment\n[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other\n\n[ekms]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n');
  const config = join(dir, 'config');
  writeFileSync(config, '[profile ekms]\nregion = us-east-1\n[profile elsewhere]\nregion = eu-west-1\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n');
  const files = { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config };
  const list = (extra: string[], env: NodeJS.ProcessEnv) => ekms(['list-keys', '--endpoint-url', server.url, ...extra], { ...files, ...env });

  const untrusted = await list(['--profile', 'ekms'], {});
  tt.equal(untrusted.code, 255, 'a self-signed endpoint is refused without a CA bundle');
  tt.equal(
    untrusted.stderr,
    `\nSSL validation failed for ${server.url}/ [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate\n`,
    "botocore's words: a certificate that does not verify, not a refused connection",
  );
  const ok = await list(['--profile', 'ekms', '--ca-bundle', cert], {});
  tt.equal(ok.code, 0, `--profile and --ca-bundle: ${ok.stderr}`);
  tt.same(JSON.parse(ok.stdout), { Keys: [] });
  tt.equal((await list([], { AWS_PROFILE: 'ekms', AWS_CA_BUNDLE: cert })).code, 0, 'AWS_PROFILE and AWS_CA_BUNDLE');
  tt.equal((await list(['--profile', 'ekms', '--ca-bundle', cert], { AWS_ACCESS_KEY_ID: 'AKIDPROFILE', AWS_SECRET_ACCESS_KEY: 'wrong' })).code, 0, '--profile outranks the environment\'s keys');
  const envFirst = await list([], { AWS_PROFILE: 'ekms', AWS_CA_BUNDLE: cert, AWS_ACCESS_KEY_ID: 'AKIDPROFILE', AWS_SECRET_ACCESS_KEY: 'wrong' });
  tt.equal(envFirst.code, 254, 'the environment\'s keys outrank AWS_PROFILE');
  tt.match(envFirst.stderr, /InvalidSignatureException/);
  const defaultProfile = await list(['--ca-bundle', cert], {});
  tt.equal(defaultProfile.code, 254, 'without a profile, [default] signs');
  tt.match(defaultProfile.stderr, /UnrecognizedClientException|InvalidSignatureException|security token/);
  const region = await list(['--profile', 'elsewhere', '--ca-bundle', cert], {});
  tt.equal(region.code, 254, "the profile's region signs the request");
  tt.match(region.stderr, /Credential should be scoped to a valid region, not 'eu-west-1'/);
  tt.equal((await list(['--profile', 'elsewhere', '--region', 'us-east-1', '--ca-bundle', cert], {})).code, 0, '--region outranks the profile\'s');
  const missing = await list(['--profile', 'nosuch', '--ca-bundle', cert], {});
  tt.equal(missing.code, 255);
  tt.match(missing.stderr, /The config profile \(nosuch\) could not be found/);
  const missingEnv = await list(['--ca-bundle', cert], { AWS_PROFILE: 'nosuch' });
  tt.equal(missingEnv.code, 255, 'a profile named by AWS_PROFILE must exist too');
  tt.match(missingEnv.stderr, /The config profile \(nosuch\) could not be found/);
  tt.equal((await list(['--ca-bundle', cert], { AWS_DEFAULT_PROFILE: 'ekms', AWS_PROFILE: 'nosuch' })).code, 0, 'AWS_DEFAULT_PROFILE first, as botocore reads them');
  const partial = await list(['--profile', 'ekms', '--ca-bundle', cert], {});
  tt.equal(partial.code, 0);
  const half = await list(['--ca-bundle', cert], { AWS_ACCESS_KEY_ID: 'AKIDPROFILE' });
  tt.equal(half.code, 255, 'half a key pair in the environment is an error, not a fallback');
  tt.match(half.stderr, /Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY/);

  // The config file alone: [profile default], quoted names, `key: value`, and ~ in the path.
  const configOnly = join(dir, 'config-only');
  writeFileSync(configOnly, '[profile default]\naws_access_key_id: AKIDPROFILE\naws_secret_access_key: profile-secret\n[profile "with space"]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n[profile half]\naws_access_key_id = AKIDPROFILE\n');
  const only = { AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONFIG_FILE: '~/config-only', HOME: dir };
  tt.equal((await ekms(['list-keys', '--endpoint-url', server.url, '--ca-bundle', cert], only)).code, 0, '[profile default] and ~ in AWS_CONFIG_FILE');
  tt.equal((await ekms(['list-keys', '--endpoint-url', server.url, '--ca-bundle', cert, '--profile', 'with space'], only)).code, 0, 'a quoted profile name');
  const halfProfile = await ekms(['list-keys', '--endpoint-url', server.url, '--ca-bundle', cert, '--profile', 'half'], only);
  tt.equal(halfProfile.code, 255);
  tt.match(halfProfile.stderr, /Partial credentials found in config-file, missing: aws_secret_access_key/);
});

// An endpoint that keeps answering the same marker: botocore stops with its error instead of
// paging forever.
t.test('a listing whose marker repeats stops with the AWS CLI\'s error', async (tt) => {
  const { paginate, PaginationError } = await import('../../src/cli/paginate.js');
  let calls = 0;
  const call = async () => {
    calls += 1;
    return { Keys: [{ KeyId: `k${calls}` }], Truncated: true, NextMarker: 'same' };
  };
  await tt.rejects(paginate({ resultKey: 'Keys' }, {}, call), new PaginationError("Error during pagination: The same next token was received twice: {'Marker': 'same'}"));
  tt.equal(calls, 2, 'the second page names the same marker as the first: it stops there');
});

// What the AWS CLI refuses before sending (botocore's parameter validation: minimum lengths and
// values from the model), refused the same way, with its report, exit 252; nothing reaches the store.
t.test('parameters the AWS CLI refuses before sending', async (tt) => {
  const h = home();
  const cases: [string[], string][] = [
    [['describe-key', '--key-id', ''], 'Invalid length for parameter KeyId, value: 0, valid min length: 1'],
    [['list-keys', '--limit', '0'], 'Invalid value for parameter Limit, value: 0, valid min value: 1'],
    [['tag-resource', '--key-id', 'k', '--tags', 'TagKey=,TagValue=v'], 'Invalid length for parameter Tags[0].TagKey, value: 0, valid min length: 1'],
    [['create-alias', '--alias-name', '', '--target-key-id', ''], 'Invalid length for parameter AliasName, value: 0, valid min length: 1\nInvalid length for parameter TargetKeyId, value: 0, valid min length: 1'],
  ];
  for (const [argv, report] of cases) {
    const r = await ekms([...argv, '--home', h]);
    tt.equal(r.code, 252, argv.join(' '));
    tt.equal(r.stderr, `\nParameter validation failed:\n${report}\n`, `${argv[0]}: botocore's report`);
  }
  tt.equal((await ekms(['list-keys', '--limit', '1', '--home', h])).code, 0, 'the minimum itself passes');
});

// AWS CLI v2 parses a member the model does not have through, and botocore's validation reports
// it (v1's "Unknown key" error of the argument parser is not v2's).
t.test('unknown members are botocore parameter errors, wherever they are given', async (tt) => {
  const h = tempHome('ekms-cli-');
  cleanupLater(h);
  const viaJson = await ekms(['describe-key', '--cli-input-json', '{"KeyId": "x", "Foo": 1}', '--home', h]);
  tt.same([viaJson.code, viaJson.stderr], [252, '\nParameter validation failed:\nUnknown parameter in input: "Foo", must be one of: KeyId, GrantTokens\n']);
  const nested = await ekms(['create-grant', '--key-id', 'x', '--grantee-principal', 'p', '--operations', 'Decrypt', '--constraints', 'Foo={a=b}', '--home', h]);
  tt.equal(nested.code, 252);
  tt.match(nested.stderr, /^\nParameter validation failed:\nUnknown parameter in Constraints: "Foo", must be one of: EncryptionContextSubset, EncryptionContextEquals/);
});
