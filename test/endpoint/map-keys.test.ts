// A map key named "__proto__" (an encryption context's, a grant constraint's) is an entry like any
// other on every path: JavaScript assignment would set the prototype instead and drop the pair,
// and a context that lost a pair binds a ciphertext to less than its caller asked for.
import t from 'tap';

import { parseArgs } from '../../src/cli/args.js';
import { kebab } from '../../src/cli/names.js';
import { buildInput } from '../../src/cli/run-operation.js';
import { startServer } from '../../src/endpoint/index.js';
import { backends } from '../helpers/backends.js';
import { kmsHeaders, raw } from './http.js';

const context = JSON.parse('{"__proto__":"bound","a":"b"}') as Record<string, string>;

t.test('through the endpoint: the context binds the ciphertext, the grant keeps its constraint', async (t) => {
  const [backend] = backends();
  const kms = await backend!.open();
  const server = await startServer(kms, { port: 0 });
  t.teardown(async () => {
    await server.close();
    await kms.close();
  });
  const call = (op: string, body: string) => raw(server.url, { headers: kmsHeaders(server.url, op), body });
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const encrypted = await call('Encrypt', `{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"__proto__":"bound","a":"b"}}`);
  t.equal(encrypted.status, 200);
  const blob = encrypted.json!.CiphertextBlob as string;
  const without = await call('Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":{"a":"b"}}`);
  t.equal(without.json?.__type, 'InvalidCiphertextException', 'refused without the __proto__ pair');
  const withIt = await call('Decrypt', `{"CiphertextBlob":"${blob}","EncryptionContext":{"a":"b","__proto__":"bound"}}`);
  t.equal(withIt.json?.Plaintext, 'aGk=', 'decrypted with it');
  t.equal(new TextDecoder().decode((await kms.decrypt({ CiphertextBlob: Buffer.from(blob, 'base64'), EncryptionContext: context })).Plaintext), 'hi', 'and through the library');

  const granted = await call(
    'CreateGrant',
    `{"KeyId":"${keyId}","GranteePrincipal":"arn:aws:iam::111122223333:role/app","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":{"__proto__":"x","a":"b"}}}`,
  );
  t.equal(granted.status, 200);
  const listed = await call('ListGrants', `{"KeyId":"${keyId}"}`);
  const constraints = (listed.json!.Grants as { Constraints: { EncryptionContextSubset: Record<string, string> } }[])[0]!.Constraints.EncryptionContextSubset;
  t.same(Object.entries(constraints).sort(), [
    ['__proto__', 'x'],
    ['a', 'b'],
  ]);
  t.equal(Object.getPrototypeOf(constraints), Object.prototype, 'an entry, not a prototype');
});

t.test('through the CLI: shorthand and JSON', async (t) => {
  const build = (argv: string[]) => buildInput('Encrypt', parseArgs([kebab('Encrypt'), '--key-id', 'k', '--plaintext', 'aGk=', ...argv])) as { EncryptionContext: Record<string, string> };
  for (const given of ['__proto__=bound,a=b', '{"__proto__":"bound","a":"b"}']) {
    const { EncryptionContext } = build(['--encryption-context', given]);
    t.same(Object.entries(EncryptionContext).sort(), Object.entries(context).sort(), given);
  }
});
