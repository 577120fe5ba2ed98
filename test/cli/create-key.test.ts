// `ekms create-key` prints every field of AWS's own CLI examples for the same command, with the
// same fixed values, and timestamps as AWS CLI v2 prints them (or the wire's epoch seconds).
import t from 'tap';

import { backends, cleanupLater, tempHome } from '../helpers/backends.js';
import { createKeyExample } from './reference.js';
import { ekms } from './run.js';

// Values that identify the key or the moment differ; everything else must match AWS's example.
const VARYING = new Set(['KeyId', 'Arn', 'CreationDate', 'AWSAccountId']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}$/;

const cases = [
  { spec: 'RSA_4096', usage: 'ENCRYPT_DECRYPT' },
  { spec: 'ECC_NIST_P521', usage: 'SIGN_VERIFY' },
];

for (const backend of backends()) {
  for (const { spec, usage } of cases) {
    t.test(`ekms create-key --key-spec ${spec} --key-usage ${usage} [${backend.name}]`, async (tt) => {
      const home = tempHome();
      cleanupLater(home);
      const expected = createKeyExample(spec, usage);
      const r = await ekms(['create-key', '--key-spec', spec, '--key-usage', usage, '--home', home], {}, backend.open);
      tt.equal(r.code, 0, r.stderr);
      tt.equal(r.stderr, '');
      const printed = JSON.parse(r.stdout) as { KeyMetadata: Record<string, unknown> };
      tt.same(Object.keys(printed), ['KeyMetadata']);
      const md = printed.KeyMetadata;
      for (const [field, value] of Object.entries(expected)) {
        tt.ok(field in md, `${field} is printed`);
        if (!VARYING.has(field)) tt.same(md[field], value, `${field} as in AWS's example`);
      }
      tt.match(md.KeyId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      tt.equal(md.Arn, `arn:aws:kms:us-east-1:111122223333:key/${String(md.KeyId)}`);
      tt.match(md.AWSAccountId, /^\d{12}$/);
      tt.match(md.CreationDate, ISO, 'CreationDate in ISO 8601 with offset, as AWS CLI v2 prints it');
      tt.ok(Math.abs(Date.parse(String(md.CreationDate)) - Date.now()) < 600_000, 'and it is now');
      tt.match(r.stdout, /^\{\n {4}"KeyMetadata": \{\n {8}"/, '4-space indentation, as the AWS CLI');

      const wire = await ekms(['describe-key', '--key-id', String(md.KeyId), '--home', home, '--cli-timestamp-format', 'wire'], {}, backend.open);
      tt.equal(wire.code, 0, wire.stderr);
      const epoch = (JSON.parse(wire.stdout) as { KeyMetadata: { CreationDate: unknown } }).KeyMetadata.CreationDate;
      tt.type(epoch, 'number', 'epoch seconds with --cli-timestamp-format wire');
      tt.equal(Math.round((epoch as number) * 1000), Date.parse(String(md.CreationDate)));
    });
  }
}
