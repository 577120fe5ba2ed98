// AWS-shaped errors: one class per exception shape of the model plus the common AWS errors,
// `name` equal to the class name, the model's fault, and errorFor() building the right class.
import t from 'tap';
import * as errors from '../../src/errors.js';
import {
  errorFor,
  errorNames,
  httpStatusOf,
  KmsError,
  NotFoundException,
  KMSInternalException,
  KMSInvalidSignatureException,
  InvalidKeyUsageException,
  DisabledException,
  ValidationException,
  InternalFailure,
  ServiceUnavailable,
} from '../../src/errors.js';
import { shapes } from '../../src/model/service-model.js';

t.test('errorFor builds instances of the right classes', async (t) => {
  const nf = errorFor('NotFoundException', "Key 'arn:aws:kms:us-east-1:111122223333:key/x' does not exist");
  t.ok(nf instanceof NotFoundException);
  t.ok(nf instanceof KmsError);
  t.ok(nf instanceof Error);
  t.equal(nf.name, 'NotFoundException');
  t.equal(nf.message, "Key 'arn:aws:kms:us-east-1:111122223333:key/x' does not exist");
  t.equal(nf.$fault, 'client');
  t.same(nf.$metadata, {});

  const internal = errorFor('KMSInternalException', 'boom');
  t.ok(internal instanceof KMSInternalException);
  t.equal(internal.$fault, 'server');
  t.equal(httpStatusOf(internal), 500);

  t.ok(errorFor('KMSInvalidSignatureException', '') instanceof KMSInvalidSignatureException);
  t.equal(errorFor('KMSInvalidSignatureException', '').message, '');
  t.ok(errorFor('InvalidKeyUsageException', 'x') instanceof InvalidKeyUsageException);
  t.ok(errorFor('DisabledException', 'x') instanceof DisabledException);
  t.notOk(errorFor('DisabledException', 'x') instanceof NotFoundException);

  const v = errorFor('ValidationException', 'bad');
  t.ok(v instanceof ValidationException);
  t.equal(httpStatusOf(v), 400);
  const f = errorFor('InternalFailure', '');
  t.ok(f instanceof InternalFailure);
  t.equal(f.$fault, 'server');
  const su = errorFor('ServiceUnavailable', '');
  t.ok(su instanceof ServiceUnavailable);
  t.equal(su.$fault, 'server');
  t.equal(httpStatusOf(su), 503);
  t.equal(httpStatusOf(errorFor('RequestEntityTooLargeException', '')), 413);
});

t.test('errorFor strips protocol decorations and falls back to a generic KmsError', async (t) => {
  t.ok(errorFor('com.amazon.coral.service#SerializationException', 'x') instanceof errors.SerializationException);
  t.ok(errorFor('NotFoundException:http://internal.amazon.com/coral/com.amazon.kms/', 'x') instanceof NotFoundException);
  const other = errorFor('SomethingNewException', 'msg');
  t.equal(other.constructor, KmsError);
  t.equal(other.name, 'SomethingNewException');
  t.equal(other.message, 'msg');
  t.equal(other.$fault, 'client');
  t.equal(errorFor('SomethingNewFault', 'msg', 'server').$fault, 'server');
});

t.test('constructors take a message or SDK-style options', async (t) => {
  const a = new NotFoundException('gone');
  t.equal(a.message, 'gone');
  t.equal(a.name, 'NotFoundException');
  const b = new NotFoundException({ message: 'gone too', $metadata: { httpStatusCode: 400 } });
  t.equal(b.message, 'gone too');
  t.same(b.$metadata, { httpStatusCode: 400 });
  t.equal(new NotFoundException().message, '');
  t.match(String(a.stack), /^NotFoundException: gone/);
});

t.test('every exception shape of the model has a class with its name and fault', async (t) => {
  const exported = errors as unknown as Record<string, unknown>;
  const modelExceptions = Object.entries(shapes).filter(([, s]) => s.exception);
  t.equal(modelExceptions.length, 48);
  for (const [name, s] of modelExceptions) {
    const C = exported[name];
    t.type(C, 'function', `${name} is exported`);
    if (typeof C !== 'function') continue;
    const e = new (C as new (m: string) => KmsError)('m');
    t.equal(e.name, name);
    t.equal(e.$fault, s.fault, `${name} is a ${s.fault} fault`);
    t.ok(errorFor(name, 'm') instanceof (C as new (m: string) => KmsError), `errorFor(${name})`);
  }
  t.same(
    modelExceptions.filter(([, s]) => s.fault === 'server').map(([n]) => n),
    ['DependencyTimeoutException', 'KMSInternalException', 'KeyUnavailableException'],
  );
  for (const common of [
    'ValidationException',
    'SerializationException',
    'UnknownOperationException',
    'UnrecognizedClientException',
    'InvalidSignatureException',
    'IncompleteSignatureException',
    'AccessDeniedException',
    'MissingAuthenticationTokenException',
    'InternalFailure',
    'ServiceUnavailable',
    'ThrottlingException',
    'RequestEntityTooLargeException',
  ]) {
    t.ok(errorNames().includes(common), `${common} is known`);
    t.equal(errorFor(common, '').name, common);
  }
});
