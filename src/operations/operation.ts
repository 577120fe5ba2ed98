// What an operation is: a name from AWS's model and a function from a validated request to an
// AWS-shaped response, given the context of one call. The library, the endpoint and the CLI all
// go through the one table built from these (operations/table.ts).
import type { TokenBackend } from '../backends/token.js';
import type { Config } from '../config.js';
import { DryRunOperationException } from '../errors.js';
import type { Arns } from '../keys/arn.js';
import type { KeyUsageTracker } from '../keys/last-usage.js';
import type { KeyRegistry } from '../keys/registry.js';
import type { Rotation } from '../keys/rotation.js';
import type { OperationName } from '../model/service-model.js';
import type { OperationTypes } from '../model/types.js';
import type { NativeEngine } from '../native/addon.js';
import type { Store } from '../store/store.js';

/** Who made a request, for the audit trail and authorization. */
export interface Caller {
  kind: 'library' | 'endpoint' | 'cli';
  accessKeyId?: string;
  sourceAddress?: string;
  /** The client's User-Agent header (endpoint), for the audit trail's userAgent as CloudTrail's. */
  userAgent?: string;
  requestId: string;
}

export interface OperationContext {
  readonly config: Config;
  readonly store: Store;
  readonly engine: NativeEngine;
  readonly keys: KeyRegistry;
  readonly arns: Arns;
  readonly caller: Caller;
  /** The configured PKCS#11 token, if any. */
  readonly token?: TokenBackend;
  /** Each key's last cryptographic use (GetKeyLastUsage). */
  readonly usage: KeyUsageTracker;
  /**
   * The rotation a successful call made (RotateKeyOnDemand): the audit trail's RotateKey service
   * event, written after the call's own event, as AWS's trail shows them (ct-rotatekey).
   */
  rotation?: Rotation;
  now(): Date;
  /**
   * What the audit trail logs of a successful call beyond its request and response, set by the
   * operation: its event's additionalEventData. One context serves one call.
   */
  additionalEventData?: AdditionalEventData;
  /** The key a successful call acted on when neither its request nor its response names it (DeleteAlias: the alias's key). */
  actedOnKeyId?: string;
}

/**
 * CloudTrail's additionalEventData members for KMS calls: the key materials a call with a
 * symmetric encryption key used, `keyMaterialId` (Encrypt, Decrypt, the GenerateDataKey
 * operations) or ReEncrypt's `destinationKeyMaterialId` and `sourceKeyMaterialId` (only those
 * keys have material ids: the model's CurrentKeyMaterialId); the custom key store
 * ConnectCustomKeyStore and DisconnectCustomKeyStore acted on, `customKeyStoreName`.
 */
export interface AdditionalEventData {
  keyMaterialId?: string | undefined;
  destinationKeyMaterialId?: string | undefined;
  sourceKeyMaterialId?: string | undefined;
  customKeyStoreName?: string | undefined;
}

export type Input<N extends OperationName> = OperationTypes[N]['input'];
export type Output<N extends OperationName> = OperationTypes[N]['output'];

export interface Operation<N extends OperationName = OperationName> {
  readonly name: N;
  /**
   * The output, or a promise of it. An operation that can finish at once (a signature made
   * inline) returns its output itself, and may throw: Kms.call turns both into one promise.
   */
  run(ctx: OperationContext, input: Input<N>): Output<N> | Promise<Output<N>>;
}

export function defineOperation<N extends OperationName>(
  name: N,
  run: (ctx: OperationContext, input: Input<N>) => Output<N> | Promise<Output<N>>,
): Operation<N> {
  return { name, run };
}

/**
 * For operations with DryRun: every check has passed; stop before doing anything. An operation
 * whose work can itself fail on the caller's input (a ciphertext, signature or MAC that does not
 * verify, a public key that is no point) calls this after that work instead, and drops its result:
 * a dry run answers "would have succeeded" only for a request that would have.
 */
export function stopIfDryRun(input: { DryRun?: boolean | undefined }): void {
  if (input.DryRun) throw new DryRunOperationException('The request would have succeeded, but the DryRun option is set.');
}

/** A dry run of Decrypt or ReEncrypt that checks the key only (DryRunModifiers IGNORE_CIPHERTEXT). */
export function dryRunIgnoresCiphertext(input: { DryRun?: boolean | undefined; DryRunModifiers?: string[] | undefined }): boolean {
  return input.DryRun === true && (input.DryRunModifiers ?? []).includes('IGNORE_CIPHERTEXT');
}
