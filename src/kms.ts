// Kms: an open key store with AWS KMS's API. One camelCase method per KMS operation (as in
// @aws-sdk/client-kms's aggregated KMS client), `send(command)` for SDK command objects, and
// `execute(operation, input)` underneath them all, which the endpoint and the CLI use too.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { resolveConfig, type Config, type KmsOptions } from './config.js';
import { KMSInternalException, KmsError, UnsupportedOperationException } from './errors.js';
import { Arns } from './keys/arn.js';
import { KeyRegistry } from './keys/registry.js';
import { lowerCamel } from './model/codec.js';
import { operationNames, type OperationName } from './model/service-model.js';
import type { KmsApi, OperationTypes } from './model/types.js';
import { validateInput } from './model/validate.js';
import { addon, type NativeEngine } from './native/addon.js';
import type { Caller, OperationContext } from './operations/operation.js';
import { operationTable } from './operations/table.js';
import { Store, StoreError } from './store/store.js';

const rootKeyCheckName = 'root_key_check';

export class KeyStoreOpenError extends Error {
  override readonly name = 'KeyStoreOpenError';
}

export class Kms {
  readonly config: Config;
  readonly arns: Arns;
  /** @internal */ readonly store: Store;
  /** @internal */ readonly engine: NativeEngine;
  /** @internal */ readonly keys: KeyRegistry;
  private inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(config: Config, store: Store, engine: NativeEngine) {
    this.config = config;
    this.arns = new Arns(config.region, config.accountId);
    this.store = store;
    this.engine = engine;
    this.keys = new KeyRegistry(store, engine, this.arns);
  }

  /**
   * Opens (or creates) the key store in `home`. The root key file is created with the store and
   * required afterwards: a store whose root key is missing or different refuses to open, and
   * opening it alters nothing.
   */
  static async open(options: KmsOptions = {}): Promise<Kms> {
    const config = resolveConfig(options);
    mkdirSync(config.home, { recursive: true, mode: 0o700 });
    const dbPath = join(config.home, 'store.sqlite3');
    const rootPath = join(config.home, 'root.key');
    const expectedCheck = Store.peekMeta(dbPath, rootKeyCheckName);

    let engine: NativeEngine;
    try {
      engine = new addon.Engine(rootPath, expectedCheck === undefined, config.keyCacheSize);
    } catch (err) {
      const why = (err as Error).message;
      throw new KeyStoreOpenError(
        expectedCheck === undefined
          ? `cannot create the root key of the key store in ${config.home}: ${why}`
          : `the key store in ${config.home} has keys, but its root key cannot be read: ${why}. Restore root.key from your backup; without it the software keys cannot be used.`,
        { cause: err },
      );
    }
    const check = engine.checkValue();
    if (expectedCheck !== undefined && !check.equals(expectedCheck)) {
      engine.close();
      throw new KeyStoreOpenError(
        `the root key in ${rootPath} is not the one this key store was created with; refusing to open (nothing was changed)`,
      );
    }

    let store: Store;
    try {
      store = Store.open(dbPath);
      chmodSync(dbPath, 0o600);
    } catch (err) {
      engine.close();
      if (err instanceof StoreError) throw new KeyStoreOpenError(err.message, { cause: err });
      throw err;
    }
    const stored = store.setMetaIfAbsent(rootKeyCheckName, check);
    if (!stored.equals(check)) {
      // Another process created this store at the same moment with another root key file.
      store.close();
      engine.close();
      throw new KeyStoreOpenError(`the key store in ${config.home} was initialised concurrently with a different root key`);
    }
    return new Kms(config, store, engine);
  }

  /** Waits for operations in flight, then wipes every unwrapped key and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    this.engine.close();
    this.store.close();
  }

  /** Runs one KMS operation by its AWS name: validation, then the operation itself. */
  execute<N extends OperationName>(
    operation: N,
    input?: OperationTypes[N]['input'],
    caller?: Partial<Caller>,
  ): Promise<OperationTypes[N]['output']> {
    const p = this.run(operation, input, caller);
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Accepts @aws-sdk/client-kms command objects: `kms.send(new SignCommand({...}))`. */
  send<I extends object, O>(command: { input: I; constructor: { name: string } } & { readonly __outputType?: O }): Promise<O> {
    const name = command.constructor.name.replace(/Command$/, '');
    if (!(operationNames as readonly string[]).includes(name))
      return Promise.reject(new UnsupportedOperationException(`${command.constructor.name} is not a KMS command.`));
    return this.execute(name as OperationName, command.input as never) as Promise<O>;
  }

  private async run<N extends OperationName>(
    operation: N,
    input: OperationTypes[N]['input'] | undefined,
    caller: Partial<Caller> | undefined,
  ): Promise<OperationTypes[N]['output']> {
    if (this.closed) throw new KMSInternalException('The key store is closed.');
    const op = operationTable.get(operation);
    if (!op) throw new UnsupportedOperationException(`${operation} is not supported by embedded-kms.`);
    const valid = validateInput(operation, input);
    this.keys.refresh();
    const ctx: OperationContext = {
      config: this.config,
      store: this.store,
      engine: this.engine,
      keys: this.keys,
      arns: this.arns,
      caller: { kind: caller?.kind ?? 'library', requestId: caller?.requestId ?? randomUUID(), ...caller },
      now: this.config.clock,
    };
    try {
      return (await op.run(ctx, valid as never)) as OperationTypes[N]['output'];
    } catch (err) {
      if (err instanceof KmsError) throw err;
      throw new KMSInternalException(`Internal error: ${(err as Error).message}`);
    }
  }
}

// One method per KMS operation, named as in @aws-sdk/client-kms's KMS client.
export interface Kms extends KmsApi {}
for (const name of operationNames) {
  Object.defineProperty(Kms.prototype, lowerCamel(name), {
    value: function (this: Kms, input?: object) {
      return this.execute(name, input as never);
    },
    writable: true,
    configurable: true,
  });
}
