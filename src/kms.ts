// Kms: an open key store with AWS KMS's API. One camelCase method per KMS operation (as in
// @aws-sdk/client-kms's aggregated KMS client), `send(command)` for SDK command objects, and
// `execute(operation, input)` underneath them all, which the endpoint and the CLI use too.
import { join } from 'node:path';

import { AuditTrail } from './audit/index.js';
import { followConnection } from './backends/connection-state.js';
import { detachedTokenBackend, openNativeToken, Pkcs11ConfigError, recordedNotConnected, tokenBackendFor, tokenObjectsLock, type NativeToken } from './backends/pkcs11.js';
import type { TokenBackend } from './backends/token.js';
import { sweepTokenOrphans } from './backends/token-orphans.js';
import { resolveConfig, type Config, type KmsOptions } from './config.js';
import { KMSInternalException, KmsError, UnsupportedOperationException, type ResponseMetadata } from './errors.js';
import { applyFixtures, notForTesting, testingMetaName } from './fixtures/index.js';
import { Arns } from './keys/arn.js';
import { DeletionSchedule } from './keys/deletion.js';
import { ImportExpiry } from './keys/import-expiry.js';
import { KeyUsageTracker } from './keys/last-usage.js';
import { KeyRegistry } from './keys/registry.js';
import { RotationSchedule, type Rotation } from './keys/rotation.js';
import { lowerCamel } from './model/codec.js';
import { operationNames, type OperationName } from './model/service-model.js';
import type { KmsApi, OperationTypes } from './model/types.js';
import { validateInput } from './model/validate.js';
import { RootKeyFollower } from './durability/follow-root-key.js';
import type { ReloadableEngine } from './durability/native.js';
import { openStoreRootKey } from './durability/open-root-key.js';
import { makeKeyStoreFolder } from './files/key-store-folder.js';
import type { NativeEngine } from './native/addon.js';
import type { Caller, Operation, OperationContext } from './operations/operation.js';
import { nextTurn, settlesNow } from './operations/inline-budget.js';
import { operationTable } from './operations/table.js';
import { withErrorMetadata, withMetadata, withPlainBlobs } from './sdk-shape.js';
import { storeIdentity } from './store/identity.js';
import { sqliteCode, sqliteMessage } from './store/sqlite-hint.js';
import { RootKeyChangedError, Store, StoreError } from './store/store.js';
import { uuid } from './uuid.js';
import { isPromise } from './promise.js';

const rootKeyCheckName = 'root_key_check';
/** How long after due work failed (dueWork) the next call tries it again. */
const DUE_RETRY_MS = 1000;

export class KeyStoreOpenError extends Error {
  override readonly name = 'KeyStoreOpenError';
}

/** An open refused over its fixtures file, whether before anything was made or while applying it. */
function fixturesRefused(path: string, err: unknown): KeyStoreOpenError {
  return new KeyStoreOpenError(`cannot apply the fixtures file ${path}: ${(err as Error).message}`, { cause: err });
}

export class Kms {
  readonly config: Config;
  readonly arns: Arns;
  /** @internal */ readonly store: Store;
  /** @internal */ readonly engine: NativeEngine;
  /** @internal */ readonly keys: KeyRegistry;
  /** @internal */ readonly rotations: RotationSchedule;
  /** @internal */ readonly deletions: DeletionSchedule;
  /** @internal Expiry of imported key material (ValidTo). */ readonly importExpiry: ImportExpiry;
  /** @internal */ readonly rootKey: RootKeyFollower;
  /** @internal */ readonly audit: AuditTrail | undefined;
  /** @internal Each key's last cryptographic use (GetKeyLastUsage). */ readonly usage: KeyUsageTracker;
  /** @internal The PKCS#11 token (a custom key store), when one is configured. */ token: TokenBackend | undefined;
  /** Calls not yet settled, and what close() waits on until there are none. */
  private active = 0;
  private idle: (() => void) | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Another connection wrote to the store: the custom key store's recorded connection state is to be followed. */
  private connectionCheckDue = false;
  /** The connection or disconnection this Kms makes to follow the store's record, until it ends. */
  private following: Promise<void> | undefined;
  /** When due deletions or rotations last failed (dueWork), and whether that was reported. */
  private dueFailedAt: number | undefined;
  private dueWarned = false;

  private constructor(config: Config, store: Store, engine: NativeEngine, usage: KeyUsageTracker) {
    this.config = config;
    this.usage = usage;
    this.arns = new Arns(config.region, config.accountId, config.partition);
    this.store = store;
    this.engine = engine;
    this.keys = new KeyRegistry(store, engine, this.arns);
    this.audit = config.audit ? new AuditTrail(config.audit.path, this.arns) : undefined;
    this.rotations = new RotationSchedule(this);
    this.deletions = new DeletionSchedule(store);
    this.importExpiry = new ImportExpiry(store, this.keys, DUE_RETRY_MS);
    this.importExpiry.onFailure = (err) =>
      process.emitWarning(
        `embedded-kms: recording the expiry of imported key material in ${config.home} failed (${err.message}); the material is refused meanwhile and the write is retried while calls go on`,
        'EmbeddedKmsWarning',
      );
    this.rootKey = new RootKeyFollower(config.home, store, engine as ReloadableEngine, () => this.keys.refresh());
    // What the store does by itself is in the audit trail as AWS's service events.
    this.deletions.onDeleted = (keyId, at) => {
      this.usage.forget(keyId);
      return this.audit?.recordServiceEvent('DeleteKey', this.arns.key(keyId), at);
    };
    this.rotations.onRotated = (rotation) => this.recordRotation(rotation);
    this.importExpiry.onExpired = (keyId, materialId, at) =>
      void this.audit?.recordServiceEvent('DeleteExpiredKeyMaterial', this.arns.key(keyId), at, { keyMaterialId: materialId, keyId });
    this.keys.onChangedElsewhere = () => {
      this.connectionCheckDue = true;
    };
    this.keys.onStale = () => {
      this.rotations.markStale();
      this.deletions.markStale();
      this.importExpiry.markStale();
      this.rootKey.markStale();
    };
  }

  /**
   * Opens (or creates) the key store in `home`. The root key file is created with the store and
   * required afterwards: a store whose root key is missing or different refuses to open, and
   * opening it alters nothing.
   */
  static async open(options: KmsOptions = {}): Promise<Kms> {
    const config = resolveConfig(options);
    // The token first: a wrong module, label or PIN fails before anything is created. Except
    // for a store whose custom key store on that token is recorded as not connected: as in AWS,
    // that takes only its own keys out of service, so the store opens without the token (the
    // token may be down; disconnecting is how an operator says so), and ConnectCustomKeyStore
    // opens it later.
    let token: NativeToken | undefined;
    /** Why the token did not open, for a store that may open without it. */
    let detached: KeyStoreOpenError | undefined;
    if (config.pkcs11) {
      try {
        token = await openNativeToken(config.pkcs11, config.keyCacheSize, tokenObjectsLock(config.home));
      } catch (err) {
        const refused = new KeyStoreOpenError(`cannot open the PKCS#11 token: ${(err as Error).message}`, { cause: err });
        // A configuration mistake (no PIN, both PIN and PIN file) is never waved through.
        if (err instanceof Pkcs11ConfigError || !recordedNotConnected(join(config.home, 'store.sqlite3'), config.pkcs11.tokenLabel)) throw refused;
        detached = refused;
      }
    }
    try {
      return await Kms.openStore(config, token, detached);
    } catch (err) {
      await token?.close();
      throw storeOpenError(err, join(config.home, 'store.sqlite3'));
    }
  }

  private static async openStore(config: Config, token: NativeToken | undefined, detached: KeyStoreOpenError | undefined): Promise<Kms> {
    const dbPath = join(config.home, 'store.sqlite3');
    // Fixtures on a store that is not, or would not be, created for testing: refused before
    // anything is made, so that the refusal does not leave a store that can never take them.
    if (config.fixtures) {
      const made = Store.peekMeta(dbPath, rootKeyCheckName) !== undefined;
      if (made ? Store.peekMeta(dbPath, testingMetaName) === undefined : !config.testing)
        throw fixturesRefused(config.fixtures, notForTesting(config.home));
    }
    makeKeyStoreFolder(config.home, (message) => new KeyStoreOpenError(message));
    // Before anything is made in the folder: a store.sqlite3 of another program is left alone.
    if (Store.isForeignDatabase(dbPath))
      throw new KeyStoreOpenError(`${dbPath} is a SQLite database of another program (it has tables, but not a key store's); embedded-kms leaves it alone. Choose another folder for the key store.`);
    // Finishes a root key rotation another process committed, then refuses a wrong root key.
    const { engine } = openStoreRootKey(config.home, config.keyCacheSize, (message, cause) => new KeyStoreOpenError(message, { cause }));
    const check = engine.checkValue();

    let store: Store;
    try {
      store = Store.open(dbPath);
    } catch (err) {
      engine.close();
      if (err instanceof StoreError) throw new KeyStoreOpenError(err.message, { cause: err });
      throw err;
    }
    // From here on a failure closes whatever is open: the Kms once it exists (its close() wipes
    // the engine's keys), else the parts made so far.
    let usage: KeyUsageTracker | undefined;
    let kms: Kms | undefined;
    try {
      // A store is created for testing (fixtures allowed) by the open that creates it, or never.
      const created = store.getMeta(rootKeyCheckName) === undefined;
      // The region and account of the ARNs (store/identity.ts) are recorded in the transaction that
      // records the root key: of two opens creating one home at once, the one whose root key the
      // store keeps is the one whose region it keeps.
      const { stored, identity } = store.write(() => ({
        stored: store.setMetaIfAbsent(rootKeyCheckName, check),
        identity: storeIdentity(store, config, created),
      }));
      // Another process created this store at the same moment with another root key file.
      if (!stored.equals(check)) throw new KeyStoreOpenError(`the key store in ${config.home} was initialised concurrently with a different root key`);
      store.wrappingRootCheck = check;
      if (created && config.testing) store.setMetaIfAbsent(testingMetaName, Buffer.from('1'));
      config = { ...config, ...identity };
      try {
        usage = new KeyUsageTracker(join(config.home, 'key-usage.sqlite3'), config.clock(), store.storeId);
      } catch (err) {
        throw new KeyStoreOpenError(`cannot open the key usage file in ${config.home}: ${(err as Error).message}`, { cause: err });
      }
      try {
        kms = new Kms(config, store, engine, usage);
      } catch (err) {
        throw new KeyStoreOpenError(`cannot open the audit log ${config.audit?.path}: ${(err as Error).message}`, { cause: err });
      }
      const backend = token ? tokenBackendFor(token, store) : detached ? detachedTokenBackend(store, config.pkcs11!, config.keyCacheSize, tokenObjectsLock(config.home)) : undefined;
      // Connected since the peek at the store (another process connected it): the token is needed.
      if (detached && !backend) throw detached;
      if (backend) {
        kms.token = backend;
        kms.keys.tokenHandles = (key, material) => backend.handleFor(key, material);
        kms.keys.storeConnected = (id) => (id === backend.customKeyStoreId ? backend.connectionState === 'CONNECTED' : undefined);
        kms.importExpiry.token = backend;
      }
      await kms.settleAtOpen(config, store);
      return kms;
    } catch (err) {
      if (kms) {
        // open() closes the token it opened; a detached backend is this Kms's own.
        if (token) kms.token = undefined;
        await kms.close().catch(() => undefined);
      } else {
        usage?.close();
        store.close();
        engine.close();
      }
      throw err;
    }
  }

  /** What the store did not do while no process had it open, done before the first call. */
  private async settleAtOpen(config: Config, store: Store): Promise<void> {
    // Keys whose deletion date came while no process had the store open are destroyed first.
    await this.deletions.sweep({ store, keys: this.keys, token: this.token, now: config.clock });
    // Token objects left by a process that died between generating and storing a key.
    // (With them, the wrapping keys of expired import parameters: calls look again a minute later.)
    if (this.token) {
      const now = config.clock();
      await sweepTokenOrphans(store, this.token, now).catch(() => 0);
      this.importExpiry.openedAt(now);
    }
    // A custom key store left disconnected (or FAILED) stays so: after the clean-ups above (which
    // destroy what the store no longer holds), before rotations, which wait for the connection as
    // they do in a running process. A disconnect that fails leaves the token disconnected all the same.
    if (this.token) await followConnection(store, this.token);
    // Automatic rotations that fell due while no process had the store open.
    await this.rotations.runDueAtOpen(config.clock());
    // Imported key material whose ValidTo came while no process had the store open.
    this.importExpiry.runDue(config.clock());
    if (config.fixtures) {
      try {
        await applyFixtures(this, config.fixtures);
      } catch (err) {
        throw fixturesRefused(config.fixtures, err);
      }
    }
  }

  /**
   * Waits for operations in flight, then wipes every unwrapped key and closes the store. A second
   * call resolves when the first is done.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.closed = true;
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.importExpiry.settled();
    // Every part is closed even when one before it fails (the unwrapped keys are wiped whatever
    // happens to the token or the audit log); the first failure is then reported.
    let failure: unknown;
    const part = async (close: () => unknown): Promise<void> => {
      try {
        await close();
      } catch (err) {
        failure ??= err;
      }
    };
    await part(() => this.token?.close());
    await part(() => this.audit?.close());
    await part(() => this.usage.close());
    await part(() => this.engine.close());
    await part(() => this.store.close());
    if (failure !== undefined) throw failure;
  }

  /** Runs one KMS operation by its AWS name: validation, then the operation itself. */
  execute<N extends OperationName>(
    operation: N,
    input?: OperationTypes[N]['input'],
    caller?: Partial<Caller>,
  ): Promise<OperationTypes[N]['output']> {
    const who: Caller =
      caller === undefined
        ? { kind: 'library', requestId: uuid() }
        : { ...caller, kind: caller.kind ?? 'library', requestId: caller.requestId ?? uuid() };
    return this.call(operation, input, who, false);
  }

  /**
   * The operation as @aws-sdk/client-kms's KMS client gives it (the camelCase methods and send()):
   * its result with `$metadata` (sdk-shape.ts).
   * @internal
   */
  invoke<N extends OperationName>(operation: N, input?: OperationTypes[N]['input']): Promise<OperationTypes[N]['output']> {
    return this.call(operation, input, { kind: 'library', requestId: uuid() }, true);
  }

  /**
   * Accepts @aws-sdk/client-kms command objects: `kms.send(new SignCommand({...}))`. The operation
   * is the command's own data where it has it (`schema`: the SDK's since 2025), which survives a
   * minifying bundler and a subclass; else its class's name.
   */
  send<C extends { input: object; constructor: { name: string } }>(command: C): Promise<CommandOutput<C>> {
    const schema = (command as { schema?: unknown }).schema;
    const named = Array.isArray(schema) && typeof schema[2] === 'string' ? schema[2] : undefined;
    const name = named ?? command.constructor.name.replace(/Command$/, '');
    if (!(operationNames as readonly string[]).includes(name))
      return Promise.reject(new UnsupportedOperationException(`${name} is not an operation embedded-kms supports.`));
    return this.invoke(name as OperationName, command.input as never) as Promise<CommandOutput<C>>;
  }

  /** ML-KEM's Encapsulate, newer than the model this follows: not offered (README). */
  encapsulate(_input?: object): Promise<never> {
    return Promise.reject(new UnsupportedOperationException('Encapsulate is not an operation embedded-kms supports.'));
  }

  /** ML-KEM's Decapsulate: not offered, as Encapsulate. */
  decapsulate(_input?: object): Promise<never> {
    return Promise.reject(new UnsupportedOperationException('Decapsulate is not an operation embedded-kms supports.'));
  }

  /** The SDK client's destroy(): closes this Kms (close() says when it is done). */
  destroy(): void {
    void this.close();
  }

  /**
   * One call from start to end: counted in flight until it settles (close() waits for it), run,
   * recorded in the audit trail (a key management event durably before the call returns),
   * failures in AWS's vocabulary. This is the hot path of Sign and Encrypt, written without
   * async functions: a call that finishes at once (a signature made inline) settles one promise,
   * where each async layer cost a suspended frame of about 600 bytes (young-generation garbage
   * that, four layers deep, doubled the collector's work) and another turn of the microtask queue.
   */
  private call<N extends OperationName>(operation: N, input: OperationTypes[N]['input'] | undefined, caller: Caller, metadata: boolean): Promise<OperationTypes[N]['output']> {
    this.active += 1;
    let now: Date;
    let ran: OperationTypes[N]['output'] | Promise<OperationTypes[N]['output']>;
    try {
      // One reading of the clock serves the audit event and the checks for due work. A clock
      // that throws fails the call unrecorded (there is no time to record it at).
      now = this.config.clock();
    } catch (error) {
      this.settled();
      return Promise.reject(error);
    }
    // The audit trail records the request as validated, once it is: what the operation acted
    // on, whatever the caller's object says by the time the call ends.
    let request: unknown = input;
    const ctx = this.contextFor(caller);
    try {
      if (this.closed) throw new KMSInternalException('The key store is closed.');
      // Validated first, as AWS does for every operation: input that breaks the model's
      // constraints is a ValidationException even for an operation embedded-kms does not offer.
      const valid = validateInput(operation, input);
      request = valid;
      ran = this.run(this.operationFor(operation), valid, ctx, now);
    } catch (error) {
      // A rejection is made only once its handler can be attached (a later turn: made then).
      return settlesNow() ? this.failed(operation, request, caller, now, error) : nextTurn().then(() => this.failed(operation, request, caller, now, error));
    }
    if (!isPromise(ran)) {
      const output = ran;
      if (settlesNow()) return Promise.resolve(this.succeeded(operation, request, ctx, now, output, metadata));
      return nextTurn().then(() => this.succeeded(operation, request, ctx, now, output, metadata));
    }
    return ran.then(
      (output) => (settlesNow() ? this.succeeded(operation, request, ctx, now, output, metadata) : nextTurn().then(() => this.succeeded(operation, request, ctx, now, output, metadata))),
      (error: unknown) => (settlesNow() ? this.failed(operation, request, caller, now, error) : nextTurn().then(() => this.failed(operation, request, caller, now, error))),
    );
  }

  /**
   * `metadata`: the result gets the SDK's `$metadata` (invoke()). The output itself when there is
   * nothing to wait for: returned from a reaction, a promise would cost two more turns of the
   * microtask queue before the caller's.
   */
  private succeeded<T>(operation: OperationName, input: unknown, ctx: OperationContext, now: Date, output: T, metadata: boolean): T | Promise<T> {
    const caller = ctx.caller;
    let durable: Promise<void> | undefined;
    try {
      // A cryptographic use is noted for GetKeyLastUsage with the id of its audit event.
      let eventId: string | undefined;
      if (KeyUsageTracker.tracks(operation)) {
        eventId = uuid();
        this.usage.note(operation, output, now, eventId, caller.requestId);
      }
      durable = this.audit?.record(operation, input, caller, now, { output, eventId, additionalEventData: ctx.additionalEventData, actedOnKeyId: ctx.actedOnKeyId });
      // Appended after the call's own event: both are on disk when the call returns.
      if (ctx.rotation) durable = this.recordRotation(ctx.rotation) ?? durable;
    } catch (error) {
      return this.failed(operation, input, caller, now, error);
    }
    withPlainBlobs(operation, output);
    if (metadata) withMetadata(output, caller.requestId);
    if (!durable) {
      this.settled();
      return output;
    }
    // Never rejects (record()).
    return durable.then(() => {
      this.settled();
      return output;
    });
  }

  private failed(operation: OperationName, input: unknown, caller: Caller, now: Date, error: unknown): Promise<never> {
    try {
      this.audit?.record(operation, input, caller, now, { error });
    } finally {
      this.settled();
    }
    return Promise.reject(withErrorMetadata(error, caller.requestId));
  }

  private settled(): void {
    this.active -= 1;
    if (this.active === 0) this.idle?.();
  }

  /** The operation of that name; UnsupportedOperationException for one embedded-kms does not offer. */
  private operationFor<N extends OperationName>(operation: N): Operation<N> {
    const op = operationTable.get(operation) as Operation<N> | undefined;
    if (!op) throw new UnsupportedOperationException(`${operation} is not supported by embedded-kms.`);
    return op;
  }

  /**
   * The operation's result, or a promise of it; failures in AWS's vocabulary, thrown or rejected.
   * The common case (nothing to follow, nothing due) runs the operation at once; anything to
   * wait for first takes the general path (runAfterDue, attempts).
   */
  private run<N extends OperationName>(op: Operation<N>, valid: Record<string, unknown>, ctx: OperationContext, now: Date): OperationTypes[N]['output'] | Promise<OperationTypes[N]['output']> {
    this.keys.refresh();
    if (this.connectionCheckDue) {
      // Another process may have connected or disconnected the custom key store. Every call
      // that starts while this Kms follows it waits for the connection (or disconnection) to end.
      this.connectionCheckDue = false;
      const following = this.token && followConnection(this.store, this.token);
      if (following) {
        const settled = following.finally(() => {
          if (this.following === settled) this.following = undefined;
        });
        this.following = settled;
      }
    }
    if (this.following) return this.following.then(() => this.firstAttempt(op, valid, ctx, now));
    return this.firstAttempt(op, valid, ctx, now);
  }

  /**
   * The first attempt, as attempts() makes each: scheduled deletions, then rotations, then
   * expiries of imported material whose time has come run first (the common case, nothing due,
   * adds no wait), then the operation; a failure of any of them after another process rotated
   * the root key runs the call again.
   */
  private firstAttempt<N extends OperationName>(op: Operation<N>, valid: unknown, ctx: OperationContext, now: Date): OperationTypes[N]['output'] | Promise<OperationTypes[N]['output']> {
    try {
      // Another process may have rotated the root key: follow it before anything is unwrapped,
      // and run again a write that raced the rotation (root-key-files.ts, follow-root-key.ts).
      this.rootKey.follow();
    } catch (err) {
      throw asAws(err);
    }
    const reloads = this.rootKey.reloads;
    let ran: OperationTypes[N]['output'] | Promise<OperationTypes[N]['output']>;
    try {
      const due = this.dueWork(ctx, now);
      if (due) return this.runAfterDue(due, op, valid, now, ctx, reloads);
      this.importExpiry.runDue(now);
      ran = op.run(ctx, valid as never) as OperationTypes[N]['output'] | Promise<OperationTypes[N]['output']>;
    } catch (err) {
      return this.retryOrThrow(err, op, valid, now, ctx, reloads);
    }
    if (!isPromise(ran)) return ran;
    return ran.then(undefined, (err: unknown) => this.retryOrThrow(err, op, valid, now, ctx, reloads));
  }

  /**
   * Scheduled deletions, then rotations, whose time has come at `now`: undefined when none is.
   * Their failure is not the caller's: a full disk that stops a due deletion must not fail every
   * Encrypt of every other key, as AWS's own deletions and rotations never fail a customer's
   * call. It is reported (once until the work succeeds again), and the work is tried again a
   * second later (DUE_RETRY_MS). A write refused because another process rotated the root key
   * meanwhile is no failure either: the new root key is followed here, for every call waiting on
   * the same pass (the store's flag of that refusal serves only one of them), and the work runs
   * again at the next call.
   */
  private dueWork(ctx: OperationContext, now: Date): Promise<unknown> | undefined {
    if (this.dueFailedAt !== undefined && now.getTime() - this.dueFailedAt < DUE_RETRY_MS) return undefined;
    const deletions = this.deletions.runDue(ctx, now);
    const work = deletions ? deletions.then(() => this.rotations.runDue(ctx.now())) : this.rotations.runDue(now);
    return work?.then(
      () => {
        this.dueFailedAt = undefined;
        this.dueWarned = false;
      },
      (err: unknown) => {
        if (err instanceof RootKeyChangedError) {
          this.store.takeRootKeyChange();
          this.rootKey.markStale();
          try {
            this.rootKey.follow();
          } catch (followErr) {
            throw asAws(followErr);
          }
          return;
        }
        this.dueFailedAt = now.getTime();
        if (!this.dueWarned) {
          this.dueWarned = true;
          process.emitWarning(
            `embedded-kms: the deletions and rotations that fell due in ${this.config.home} failed (${(err as Error).message}); they are retried while calls go on`,
            'EmbeddedKmsWarning',
          );
        }
      },
    );
  }

  /** After the first attempt failed: the attempts that follow a root key rotation, or the failure. */
  private retryOrThrow<N extends OperationName>(err: unknown, op: Operation<N>, valid: unknown, now: Date, ctx: OperationContext, reloads: number): Promise<OperationTypes[N]['output']> {
    let again: boolean;
    try {
      again = this.rootKey.retryAfter(1, err, reloads);
    } catch (followErr) {
      throw asAws(followErr);
    }
    if (!again) throw asAws(err);
    return this.attempts(op, valid, now, ctx, 2);
  }

  /** The first attempt once its due work is done; then, as needed, the next ones. */
  private async runAfterDue<N extends OperationName>(due: Promise<unknown>, op: Operation<N>, valid: unknown, now: Date, ctx: OperationContext, reloads: number): Promise<OperationTypes[N]['output']> {
    try {
      await due;
    } catch (err) {
      return this.retryOrThrow(err, op, valid, now, ctx, reloads);
    }
    return this.attempts(op, valid, now, ctx, 1, true);
  }

  /**
   * Attempts `first` and later of an operation (a write that raced a root key rotation runs
   * again): each runs what is due at `now` first. `dueDone`: the first attempt's due work has run
   * already (the clock is read again after it).
   */
  private async attempts<N extends OperationName>(op: Operation<N>, valid: unknown, now: Date, ctx: OperationContext, first: number, dueDone = false): Promise<OperationTypes[N]['output']> {
    try {
      for (let attempt = first; ; attempt++) {
        const reloads = this.rootKey.reloads;
        try {
          let waited = dueDone;
          if (!dueDone) {
            const due = this.dueWork(ctx, now);
            if (due) {
              await due;
              waited = true;
            }
          }
          dueDone = false;
          this.importExpiry.runDue(waited ? ctx.now() : now);
          return (await op.run(ctx, valid as never)) as OperationTypes[N]['output'];
        } catch (err) {
          if (!this.rootKey.retryAfter(attempt, err, reloads)) throw err;
        }
      }
    } catch (err) {
      throw asAws(err);
    }
  }

  /**
   * The RotateKey service event AWS's CloudTrail shows for every rotation: automatic ones (the
   * schedule) and on-demand ones (after the RotateKeyOnDemand call's own event).
   */
  private recordRotation({ keyId, type, origin, previousMaterialId, materialId, at }: Rotation): Promise<void> | undefined {
    return this.audit?.recordServiceEvent('RotateKey', this.arns.key(keyId), at, {
      rotationType: type,
      keyOrigin: origin,
      ...(previousMaterialId !== undefined ? { previousKeyMaterialId: previousMaterialId } : {}),
      currentKeyMaterialId: materialId,
      keyId,
    });
  }

  /** A new context for each call: an operation notes in it what the audit trail logs (additionalEventData). */
  private contextFor(caller: Caller): OperationContext {
    return {
      config: this.config,
      store: this.store,
      engine: this.engine,
      keys: this.keys,
      arns: this.arns,
      caller,
      token: this.token,
      usage: this.usage,
      now: this.config.clock,
    };
  }
}

/**
 * An open that SQLite refused (a read-only or full file system, a folder this user may not
 * write): a KeyStoreOpenError that names the file and the likely cause, not SQLite's bare words.
 */
function storeOpenError(err: unknown, dbPath: string): unknown {
  const code = sqliteCode(err);
  if (err instanceof KeyStoreOpenError || code === undefined) return err;
  return new KeyStoreOpenError(`cannot open the key store ${dbPath}: ${sqliteMessage(err as Error, code)}`, { cause: err });
}

/** A failure in AWS's vocabulary: anything that is not already an AWS error is an internal one. */
function asAws(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  return new KMSInternalException(`Internal error: ${(err as Error).message}`);
}

/**
 * The output type of an @aws-sdk/client-kms command (what its handler resolves), without naming
 * the SDK: `kms.send(new SignCommand(…))` is typed as the SDK types it. Unknown for anything else.
 */
type CommandOutput<C> = C extends { resolveMiddleware(...args: never[]): (...args: never[]) => Promise<{ output: infer O }> } ? O : unknown;

/** Each method of `Api` with the SDK's `$metadata` on its result (Kms.invoke). */
type WithMetadata<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer P) => Promise<infer O> ? (...args: P) => Promise<O & { $metadata: ResponseMetadata }> : Api[K];
};

// One method per KMS operation, named as in @aws-sdk/client-kms's KMS client.
export interface Kms extends WithMetadata<KmsApi> {}
for (const name of operationNames) {
  Object.defineProperty(Kms.prototype, lowerCamel(name), {
    value: function (this: Kms, input?: object) {
      return this.invoke(name, input as never);
    },
    writable: true,
    configurable: true,
  });
}
