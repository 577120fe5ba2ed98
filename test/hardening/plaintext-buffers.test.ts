// Plaintexts on the wire path stay out of Node's buffer pool. A Buffer under 4 KiB made by
// Buffer.from(string) or Buffer.concat is a slice of an 8 KiB pool that unrelated Buffers of the
// process share: `.buffer` of any of them reached a GenerateDataKey response's data key, or an
// Encrypt request's plaintext (found by a security review through createInProcessHandler).
import { randomBytes } from 'node:crypto';

import t from 'tap';

import { createInProcessHandler, Kms } from '../../src/index.js';
import { processRequest } from '../../src/endpoint/wire.js';
import { ownConcat, ownUtf8 } from '../../src/operations/result-buffer.js';
import { tempHome } from '../helpers/backends.js';

/** Whether `b` fills an ArrayBuffer of its own. */
const own = (b: Uint8Array): boolean => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;

t.test('ownUtf8 and ownConcat: the bytes, in an ArrayBuffer of their own', async (t) => {
  t.ok(own(Buffer.from('x'.repeat(10))) === false, 'the pool, for contrast (Buffer.from of a short string)');
  const text = 'plaintext é';
  t.ok(own(ownUtf8(text)));
  t.equal(ownUtf8(text).toString('utf8'), text);
  const parts = [Buffer.from('ab'), new Uint8Array([0x63]), Buffer.alloc(0)];
  t.ok(own(ownConcat(parts)));
  t.equal(ownConcat(parts).toString(), 'abc');
});

t.test('a GenerateDataKey or Decrypt response body is a Buffer of its own', async (t) => {
  const kms = await Kms.open({ home: tempHome(), audit: false });
  t.teardown(() => kms.close());
  const keyId = (await kms.createKey({})).KeyMetadata!.KeyId!;
  const call = (target: string, input: unknown) =>
    processRequest(kms, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}` },
      body: ownUtf8(JSON.stringify(input)),
    });
  const generated = await call('GenerateDataKey', { KeyId: keyId, NumberOfBytes: 32 });
  t.equal(generated.statusCode, 200);
  t.ok(own(generated.body), 'GenerateDataKey: not a slice of the pool');
  const { CiphertextBlob } = JSON.parse(generated.body.toString()) as { CiphertextBlob: string };
  const decrypted = await call('Decrypt', { CiphertextBlob });
  t.ok(own(decrypted.body), 'Decrypt: not a slice of the pool');

  // Through the in-process handler (the SDK's path to an in-process Kms): its response too.
  const handler = createInProcessHandler(kms);
  const secret = randomBytes(16).toString('base64');
  const bodies: Uint8Array[] = [];
  const { response } = await handler.handle({
    method: 'POST',
    protocol: 'http:',
    hostname: 'localhost',
    path: '/',
    query: {},
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' },
    body: JSON.stringify({ KeyId: keyId, Plaintext: secret }),
  } as never);
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) bodies.push(chunk);
  t.equal(response.statusCode, 200);
  t.ok(bodies.length > 0 && bodies.every(own), 'the response comes in Buffers of their own');
});
