// AWS-shaped errors. Every error the library, the endpoint and the CLI report is a KmsError whose
// class is named exactly like the AWS error type (so `instanceof NotFoundException` and
// `err.name === 'NotFoundException'` both work, as with @aws-sdk/client-kms), whose `message` is
// AWS's wording, and whose `$fault` says whether the caller or the service is at fault.
//
// The exception classes of the KMS model are written out below (one per exception shape of
// src/model/service-model.ts; test/model/errors.test.ts and scripts/gen-model.mjs check that the
// list matches the model), followed by the errors common to all AWS JSON services that the KMS
// model does not list. They are written out, not generated into a separate module, so that the
// base class and its subclasses live in one module (a generated module extending a class of
// this one would form an import cycle).

/**
 * Like the SDK's ResponseMetadata: an error from the endpoint client has the HTTP status and
 * request id the endpoint answered with; one from a Kms call, its request id, and the status the
 * endpoint would have answered with (kms.ts).
 */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  cfId?: string;
  attempts?: number;
  totalRetryDelay?: number;
}

export type Fault = 'client' | 'server';

/** A message, or SDK-style options (`new NotFoundException({ message })`). */
export type ErrorInit = string | { message?: string; $metadata?: ResponseMetadata };

/**
 * The base class of every error here, named as @aws-sdk/client-kms names its own: the SDK's
 * `instanceof KMSServiceException` recognises an error by its `$fault`, its `$metadata` and the
 * name of a class in its prototype chain, so code written for the SDK (`if (err instanceof
 * KMSServiceException) … else throw err`) treats ours as KMS errors too. Also exported as KmsError.
 */
export class KMSServiceException extends Error {
  /** The AWS error type, e.g. `NotFoundException`. */
  override readonly name: string;
  readonly $fault: Fault;
  readonly $metadata: ResponseMetadata;

  constructor(init?: ErrorInit, name = 'KMSServiceException', fault: Fault = 'client') {
    super(typeof init === 'string' ? init : (init?.message ?? ''));
    this.name = name;
    this.$fault = fault;
    this.$metadata = (typeof init === 'object' && init.$metadata) || {};
  }
}

export const KmsError = KMSServiceException;
export type KmsError = KMSServiceException;

// ---------------------------------------------------------------- KMS model exceptions

export class AlreadyExistsException extends KmsError {
  override readonly name = 'AlreadyExistsException' as const;
  override readonly $fault = 'client' as const;
}
export class CloudHsmClusterInUseException extends KmsError {
  override readonly name = 'CloudHsmClusterInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class CloudHsmClusterInvalidConfigurationException extends KmsError {
  override readonly name = 'CloudHsmClusterInvalidConfigurationException' as const;
  override readonly $fault = 'client' as const;
}
export class CloudHsmClusterNotActiveException extends KmsError {
  override readonly name = 'CloudHsmClusterNotActiveException' as const;
  override readonly $fault = 'client' as const;
}
export class CloudHsmClusterNotFoundException extends KmsError {
  override readonly name = 'CloudHsmClusterNotFoundException' as const;
  override readonly $fault = 'client' as const;
}
export class CloudHsmClusterNotRelatedException extends KmsError {
  override readonly name = 'CloudHsmClusterNotRelatedException' as const;
  override readonly $fault = 'client' as const;
}
export class ConflictException extends KmsError {
  override readonly name = 'ConflictException' as const;
  override readonly $fault = 'client' as const;
}
export class CustomKeyStoreHasCMKsException extends KmsError {
  override readonly name = 'CustomKeyStoreHasCMKsException' as const;
  override readonly $fault = 'client' as const;
}
export class CustomKeyStoreInvalidStateException extends KmsError {
  override readonly name = 'CustomKeyStoreInvalidStateException' as const;
  override readonly $fault = 'client' as const;
}
export class CustomKeyStoreNameInUseException extends KmsError {
  override readonly name = 'CustomKeyStoreNameInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class CustomKeyStoreNotFoundException extends KmsError {
  override readonly name = 'CustomKeyStoreNotFoundException' as const;
  override readonly $fault = 'client' as const;
}
export class DependencyTimeoutException extends KmsError {
  override readonly name = 'DependencyTimeoutException' as const;
  override readonly $fault = 'server' as const;
}
export class DisabledException extends KmsError {
  override readonly name = 'DisabledException' as const;
  override readonly $fault = 'client' as const;
}
export class DryRunOperationException extends KmsError {
  override readonly name = 'DryRunOperationException' as const;
  override readonly $fault = 'client' as const;
}
export class ExpiredImportTokenException extends KmsError {
  override readonly name = 'ExpiredImportTokenException' as const;
  override readonly $fault = 'client' as const;
}
export class IncorrectKeyException extends KmsError {
  override readonly name = 'IncorrectKeyException' as const;
  override readonly $fault = 'client' as const;
}
export class IncorrectKeyMaterialException extends KmsError {
  override readonly name = 'IncorrectKeyMaterialException' as const;
  override readonly $fault = 'client' as const;
}
export class IncorrectTrustAnchorException extends KmsError {
  override readonly name = 'IncorrectTrustAnchorException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidAliasNameException extends KmsError {
  override readonly name = 'InvalidAliasNameException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidArnException extends KmsError {
  override readonly name = 'InvalidArnException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidCiphertextException extends KmsError {
  override readonly name = 'InvalidCiphertextException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidGrantIdException extends KmsError {
  override readonly name = 'InvalidGrantIdException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidGrantTokenException extends KmsError {
  override readonly name = 'InvalidGrantTokenException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidImportTokenException extends KmsError {
  override readonly name = 'InvalidImportTokenException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidKeyUsageException extends KmsError {
  override readonly name = 'InvalidKeyUsageException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidMarkerException extends KmsError {
  override readonly name = 'InvalidMarkerException' as const;
  override readonly $fault = 'client' as const;
}
export class KMSInternalException extends KmsError {
  override readonly name = 'KMSInternalException' as const;
  override readonly $fault = 'server' as const;
}
export class KMSInvalidMacException extends KmsError {
  override readonly name = 'KMSInvalidMacException' as const;
  override readonly $fault = 'client' as const;
}
export class KMSInvalidSignatureException extends KmsError {
  override readonly name = 'KMSInvalidSignatureException' as const;
  override readonly $fault = 'client' as const;
}
export class KMSInvalidStateException extends KmsError {
  override readonly name = 'KMSInvalidStateException' as const;
  override readonly $fault = 'client' as const;
}
export class KeyUnavailableException extends KmsError {
  override readonly name = 'KeyUnavailableException' as const;
  override readonly $fault = 'server' as const;
}
export class LimitExceededException extends KmsError {
  override readonly name = 'LimitExceededException' as const;
  override readonly $fault = 'client' as const;
}
export class MalformedPolicyDocumentException extends KmsError {
  override readonly name = 'MalformedPolicyDocumentException' as const;
  override readonly $fault = 'client' as const;
}
export class NotFoundException extends KmsError {
  override readonly name = 'NotFoundException' as const;
  override readonly $fault = 'client' as const;
}
export class TagException extends KmsError {
  override readonly name = 'TagException' as const;
  override readonly $fault = 'client' as const;
}
export class UnsupportedOperationException extends KmsError {
  override readonly name = 'UnsupportedOperationException' as const;
  override readonly $fault = 'client' as const;
}
export class XksKeyAlreadyInUseException extends KmsError {
  override readonly name = 'XksKeyAlreadyInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class XksKeyInvalidConfigurationException extends KmsError {
  override readonly name = 'XksKeyInvalidConfigurationException' as const;
  override readonly $fault = 'client' as const;
}
export class XksKeyNotFoundException extends KmsError {
  override readonly name = 'XksKeyNotFoundException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyIncorrectAuthenticationCredentialException extends KmsError {
  override readonly name = 'XksProxyIncorrectAuthenticationCredentialException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyInvalidConfigurationException extends KmsError {
  override readonly name = 'XksProxyInvalidConfigurationException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyInvalidResponseException extends KmsError {
  override readonly name = 'XksProxyInvalidResponseException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyUriEndpointInUseException extends KmsError {
  override readonly name = 'XksProxyUriEndpointInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyUriInUseException extends KmsError {
  override readonly name = 'XksProxyUriInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyUriUnreachableException extends KmsError {
  override readonly name = 'XksProxyUriUnreachableException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyVpcEndpointServiceInUseException extends KmsError {
  override readonly name = 'XksProxyVpcEndpointServiceInUseException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyVpcEndpointServiceInvalidConfigurationException extends KmsError {
  override readonly name = 'XksProxyVpcEndpointServiceInvalidConfigurationException' as const;
  override readonly $fault = 'client' as const;
}
export class XksProxyVpcEndpointServiceNotFoundException extends KmsError {
  override readonly name = 'XksProxyVpcEndpointServiceNotFoundException' as const;
  override readonly $fault = 'client' as const;
}

// ---------------------------------------------------------------- common AWS errors
// Errors every AWS JSON 1.1 service may return that the KMS model does not list
// (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html and Coral's own
// framework errors: SerializationException, UnknownOperationException, …).

/** Input constraint violations: `1 validation error detected: Value … at '…' failed to satisfy constraint: …`. */
export class ValidationException extends KmsError {
  override readonly name = 'ValidationException' as const;
  override readonly $fault = 'client' as const;
}
/** The request body could not be read as the operation's input (wrong JSON types, bad base64). */
export class SerializationException extends KmsError {
  override readonly name = 'SerializationException' as const;
  override readonly $fault = 'client' as const;
}
export class UnknownOperationException extends KmsError {
  override readonly name = 'UnknownOperationException' as const;
  override readonly $fault = 'client' as const;
}
export class UnrecognizedClientException extends KmsError {
  override readonly name = 'UnrecognizedClientException' as const;
  override readonly $fault = 'client' as const;
}
export class InvalidSignatureException extends KmsError {
  override readonly name = 'InvalidSignatureException' as const;
  override readonly $fault = 'client' as const;
}
export class IncompleteSignatureException extends KmsError {
  override readonly name = 'IncompleteSignatureException' as const;
  override readonly $fault = 'client' as const;
}
export class MissingAuthenticationTokenException extends KmsError {
  override readonly name = 'MissingAuthenticationTokenException' as const;
  override readonly $fault = 'client' as const;
}
export class ExpiredTokenException extends KmsError {
  override readonly name = 'ExpiredTokenException' as const;
  override readonly $fault = 'client' as const;
}
export class AccessDeniedException extends KmsError {
  override readonly name = 'AccessDeniedException' as const;
  override readonly $fault = 'client' as const;
}
export class ThrottlingException extends KmsError {
  override readonly name = 'ThrottlingException' as const;
  override readonly $fault = 'client' as const;
}
/** HTTP 413: the request body is larger than the service accepts. */
export class RequestEntityTooLargeException extends KmsError {
  override readonly name = 'RequestEntityTooLargeException' as const;
  override readonly $fault = 'client' as const;
}
export class InternalFailure extends KmsError {
  override readonly name = 'InternalFailure' as const;
  override readonly $fault = 'server' as const;
}
export class ServiceUnavailable extends KmsError {
  override readonly name = 'ServiceUnavailable' as const;
  override readonly $fault = 'server' as const;
}

// ---------------------------------------------------------------- lookup by name

type ErrorClass = new (init?: ErrorInit) => KmsError;

const ERROR_CLASSES: readonly ErrorClass[] = [
  AlreadyExistsException,
  CloudHsmClusterInUseException,
  CloudHsmClusterInvalidConfigurationException,
  CloudHsmClusterNotActiveException,
  CloudHsmClusterNotFoundException,
  CloudHsmClusterNotRelatedException,
  ConflictException,
  CustomKeyStoreHasCMKsException,
  CustomKeyStoreInvalidStateException,
  CustomKeyStoreNameInUseException,
  CustomKeyStoreNotFoundException,
  DependencyTimeoutException,
  DisabledException,
  DryRunOperationException,
  ExpiredImportTokenException,
  IncorrectKeyException,
  IncorrectKeyMaterialException,
  IncorrectTrustAnchorException,
  InvalidAliasNameException,
  InvalidArnException,
  InvalidCiphertextException,
  InvalidGrantIdException,
  InvalidGrantTokenException,
  InvalidImportTokenException,
  InvalidKeyUsageException,
  InvalidMarkerException,
  KMSInternalException,
  KMSInvalidMacException,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KeyUnavailableException,
  LimitExceededException,
  MalformedPolicyDocumentException,
  NotFoundException,
  TagException,
  UnsupportedOperationException,
  XksKeyAlreadyInUseException,
  XksKeyInvalidConfigurationException,
  XksKeyNotFoundException,
  XksProxyIncorrectAuthenticationCredentialException,
  XksProxyInvalidConfigurationException,
  XksProxyInvalidResponseException,
  XksProxyUriEndpointInUseException,
  XksProxyUriInUseException,
  XksProxyUriUnreachableException,
  XksProxyVpcEndpointServiceInUseException,
  XksProxyVpcEndpointServiceInvalidConfigurationException,
  XksProxyVpcEndpointServiceNotFoundException,
  ValidationException,
  SerializationException,
  UnknownOperationException,
  UnrecognizedClientException,
  InvalidSignatureException,
  IncompleteSignatureException,
  MissingAuthenticationTokenException,
  ExpiredTokenException,
  AccessDeniedException,
  ThrottlingException,
  RequestEntityTooLargeException,
  InternalFailure,
  ServiceUnavailable,
];

let registry: Map<string, ErrorClass> | undefined;
function classes(): Map<string, ErrorClass> {
  if (!registry) {
    registry = new Map();
    for (const C of ERROR_CLASSES) registry.set(new C().name, C);
  }
  return registry;
}

/** The names of every error class this module exports (model exceptions and common errors). */
export function errorNames(): string[] {
  return [...classes().keys()];
}

/**
 * Strips the decorations AWS JSON protocols may put around an error type:
 * `com.amazon.coral.service#SerializationException` and `NotFoundException:http://…`.
 */
export function errorTypeName(type: string): string {
  let t = type;
  const hash = t.lastIndexOf('#');
  if (hash >= 0) t = t.slice(hash + 1);
  const colon = t.indexOf(':');
  if (colon >= 0) t = t.slice(0, colon);
  return t.trim();
}

/**
 * Builds the error of the given AWS type: an instance of its class when this module has one,
 * else a generic KmsError carrying that name (with `fault`, client by default).
 */
export function errorFor(type: string, message: string, fault: Fault = 'client'): KmsError {
  const name = errorTypeName(type);
  const C = classes().get(name);
  return C ? new C(message) : new KmsError(message, name, fault);
}

/** The HTTP status AWS answers with for an error: 400 for client faults, 500 for server faults. */
export function httpStatusOf(error: KmsError): number {
  switch (error.name) {
    case 'RequestEntityTooLargeException':
      return 413;
    case 'ServiceUnavailable':
      return 503;
    default:
      return error.$fault === 'server' ? 500 : 400;
  }
}
