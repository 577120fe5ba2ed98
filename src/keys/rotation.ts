// Key rotation: a new key material for a symmetric encryption key, made in native code and stored
// beside the old ones. Old ciphertexts name their own material, so they keep decrypting; new
// ones use the newest. There is no scheduler process: a due automatic rotation happens when a
// store is opened and when any operation runs (RotationSchedule.runDue), which is all a caller
// can observe of AWS's background rotation.
import { KMSInvalidStateException, KeyUnavailableException, UnsupportedOperationException, type KmsError } from '../errors.js';
import type { RotationType } from '../model/types.js';
import type { NativeEngine, NativeKeyHandle } from '../native/addon.js';
import type { TokenBackend } from '../backends/token.js';
import { clearTokenCreation, noteTokenCreation } from '../backends/token-orphans.js';
import type { KeyRecord, MaterialRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { newMaterialId } from './ids.js';
import type { KeyRegistry, LoadedKey } from './registry.js';

/** AWS's limit of on-demand rotations per key (the service model's documentation says 25). */
export const onDemandRotationLimit = 25;
export const defaultRotationPeriodDays = 365;
const dayMs = 86_400_000;

export interface RotationDeps {
  readonly store: Store;
  readonly engine: NativeEngine;
  readonly keys: KeyRegistry;
  /** The PKCS#11 token, which makes the new material of keys that live on it. */
  readonly token?: TokenBackend | undefined;
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * dayMs);
}

/**
 * The error AWS raises when asked to rotate (or schedule rotation of) this key, after the key
 * state has been checked; undefined when the key can rotate. Only symmetric encryption keys
 * whose material KMS made rotate: not asymmetric or HMAC keys, not imported material. Unlike AWS,
 * which does not rotate keys in custom key stores, keys on a PKCS#11 token rotate too: the token
 * makes the new material (a deliberate deviation, listed in the README).
 */
export function rotationRefusal(key: LoadedKey): KmsError | undefined {
  const { keySpec, origin } = key.record;
  // AWS answers an asymmetric key with an empty message (recorded).
  if (keySpec !== 'SYMMETRIC_DEFAULT') return new UnsupportedOperationException('');
  if (origin !== 'AWS_KMS' && origin !== 'AWS_CLOUDHSM')
    return new UnsupportedOperationException(`${key.arn} origin is ${origin} which is not valid for this operation.`);
  return undefined;
}

/** RotateKeyOnDemand's refusals: as rotationRefusal, except for imported material (recorded). */
export function onDemandRefusal(key: LoadedKey): KmsError | undefined {
  if (key.record.keySpec === 'SYMMETRIC_DEFAULT' && key.record.origin === 'EXTERNAL')
    return new KMSInvalidStateException(`No available key material pending rotation for the key: ${key.arn}.`);
  return rotationRefusal(key);
}

export function isRotationDue(record: KeyRecord, now: Date): boolean {
  return (
    record.rotationEnabled &&
    record.state === 'Enabled' &&
    record.nextRotationDate !== undefined &&
    record.nextRotationDate.getTime() <= now.getTime()
  );
}

/** A rotation that happened: what the audit trail's RotateKey service event records. */
export interface Rotation {
  keyId: string;
  type: RotationType;
  origin: string;
  previousMaterialId: string | undefined;
  materialId: string;
  at: Date;
}

/**
 * Makes a new material for `key` and records it as current in one transaction, provided nobody
 * rotated the key since `key` was read. `rotatedAt` is the rotation's date: now, or for an
 * automatic rotation caught up late, the date it was due (RotationSchedule). An automatic
 * rotation also moves the next rotation date one period on from it; an on-demand one leaves the
 * schedule alone. Returns the reloaded key, or undefined when another writer rotated it first.
 */
export async function rotateKeyMaterial(
  deps: RotationDeps,
  key: LoadedKey,
  type: RotationType,
  now: Date,
  rotatedAt: Date = now,
): Promise<LoadedKey | undefined> {
  const { keyId, keySpec, keyUsage, currentMaterialId, rotationPeriodDays } = key.record;
  const materialId = newMaterialId();
  let material: MaterialRecord;
  let handle: NativeKeyHandle;
  if (key.record.origin === 'AWS_CLOUDHSM') {
    if (!deps.token) throw new KeyUnavailableException(`${key.arn} lives on a PKCS#11 token, and this key store was opened without one.`);
    noteTokenCreation(deps.store, keyId, materialId, now);
    const made = await deps.token.createKey(keySpec, keyUsage, keyId, materialId);
    material = { keyId, materialId, createdAt: rotatedAt, rotationType: type, tokenRef: made.tokenRef };
    handle = made.handle;
  } else {
    const wrappedUnder = deps.store.wrappingRootCheck;
    const generated = await deps.engine.generateKey(keySpec, keyId, materialId);
    material = { keyId, materialId, createdAt: rotatedAt, rotationType: type, wrapped: generated.wrapped, wrappedUnder };
    handle = generated.handle;
  }
  const changes: Partial<KeyRecord> = { currentMaterialId: materialId };
  if (type === 'AUTOMATIC') changes.nextRotationDate = addDays(rotatedAt, rotationPeriodDays ?? defaultRotationPeriodDays);
  let committed: boolean;
  try {
    committed = deps.store.commitRotation(keyId, currentMaterialId, material, changes);
  } catch (err) {
    if (material.tokenRef !== undefined) await deps.token?.destroyMaterial(key.record, material).catch(() => undefined);
    throw err;
  }
  deps.keys.invalidate(keyId);
  if (!committed) {
    // Another writer rotated first: the token object we made belongs to no record.
    if (material.tokenRef !== undefined)
      await deps.token?.destroyMaterial(key.record, material).then(() => clearTokenCreation(deps.store, keyId, materialId), () => undefined);
    return undefined;
  }
  if (material.tokenRef !== undefined) clearTokenCreation(deps.store, keyId, materialId);
  const record = deps.store.getKey(keyId);
  if (!record) return undefined;
  // Seed the cache with the new material's handle, so its first use needs no unwrap.
  const handles = new Map<string, NativeKeyHandle>([[materialId, handle]]);
  return deps.keys.remember(record, deps.store.getMaterials(keyId), handles);
}

/** How soon a rotation that had to wait (rotateOne) is looked at again. */
const WAIT_RETRY_MS = 1000;

/**
 * Keeps the earliest automatic rotation date of the store in memory, so that checking for due
 * rotations on every operation is one comparison; the date is read again from the store only
 * after a change (the registry reports every invalidation and every change made elsewhere).
 */
export class RotationSchedule {
  private earliest: number | undefined;
  private stale = true;
  private running: Promise<void> | undefined;
  /**
   * Told of each automatic rotation, with the new key material's id (the audit trail's RotateKey
   * service event): the rotation waits for what it returns.
   */
  onRotated: ((rotation: Rotation) => Promise<void> | undefined) | undefined;

  constructor(private readonly deps: RotationDeps) {}

  markStale(): void {
    this.stale = true;
  }

  /** Rotates every key whose automatic rotation is due at `now`: the pass, or undefined when none may be due. */
  runDue(now: Date): Promise<void> | undefined {
    if (!this.stale && (this.earliest === undefined || now.getTime() < this.earliest)) return undefined;
    // One pass at a time: concurrent operations wait for the pass in progress.
    this.running ??= this.rotateDue(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** As runDue, but a key that fails to rotate is left for its next use (opening must not fail). */
  async runDueAtOpen(now: Date): Promise<void> {
    for (const keyId of this.deps.store.dueRotations(now)) {
      try {
        await this.rotateOne(keyId, now);
      } catch {
        // Left due: the next operation retries it and reports the failure to its caller.
      }
    }
    this.stale = true;
  }

  private async rotateDue(now: Date): Promise<void> {
    let waiting = false;
    for (const keyId of this.deps.store.dueRotations(now)) if (!(await this.rotateOne(keyId, now))) waiting = true;
    // Read after the rotations (which mark the schedule stale themselves), with no await in
    // between: any change made meanwhile is already in the store.
    this.stale = false;
    const earliest = this.deps.store.earliestRotation()?.getTime();
    // A key that must wait (its custom key store disconnected) stays due: look again a second
    // later, or when the store is connected (ConnectCustomKeyStore marks this stale), not on
    // every call.
    this.earliest = waiting && earliest !== undefined && earliest <= now.getTime() ? now.getTime() + WAIT_RETRY_MS : earliest;
  }

  /**
   * Makes the rotations of a key that are due, each dated when it fell due, as AWS's background
   * rotation would have: a key enabled throughout whose store was closed (or idle) past two of
   * its dates rotated on each, and its next date stays on that schedule. A key that was not
   * Enabled on its date rotates when enabled again (rotationCatchUpFrom).
   * False when it is due but must wait: its custom key store is disconnected (the key is
   * Unavailable), so the token cannot make the new material; failing every operation of the
   * process meanwhile (ConnectCustomKeyStore included) would be worse than rotating late.
   */
  private async rotateOne(keyId: string, now: Date): Promise<boolean> {
    let key = this.deps.keys.get(keyId);
    while (key && isRotationDue(key.record, now)) {
      if (key.state === 'Unavailable') return false;
      // Never before the key's newest material: an on-demand rotation made while this one could
      // not be (a failure, retried later) stays older than the material that replaces it.
      const newest = key.materials.reduce((latest, m) => Math.max(latest, m.createdAt.getTime()), 0);
      const at = new Date(Math.max(key.record.nextRotationDate!.getTime(), newest));
      // Undefined when another process rotated it first (and records the event): read it again.
      const previous = key.record.currentMaterialId;
      const rotated = await rotateKeyMaterial(this.deps, key, 'AUTOMATIC', now, at);
      const materialId = rotated?.record.currentMaterialId;
      if (materialId !== undefined)
        await this.onRotated?.({ keyId, type: 'AUTOMATIC', origin: rotated!.record.origin, previousMaterialId: previous, materialId, at });
      key = rotated ?? this.deps.keys.get(keyId);
    }
    return true;
  }
}

/**
 * The next rotation date of a key that becomes usable again (EnableKey, ConnectCustomKeyStore)
 * with its date passed while it was not, as AWS describes for a key re-enabled after its
 * rotation date: if its current material is more than a period old, now (it rotates once, at
 * once, and keeps its period from there); if younger (an on-demand rotation since), the original
 * schedule resumes at its first date still ahead. Undefined when nothing changes.
 */
export function rotationCatchUpFrom(store: Store, record: KeyRecord, now: Date): Date | undefined {
  const next = record.nextRotationDate;
  if (!record.rotationEnabled || next === undefined || next.getTime() >= now.getTime()) return undefined;
  const period = record.rotationPeriodDays ?? defaultRotationPeriodDays;
  const current = record.currentMaterialId === undefined ? undefined : store.getMaterial(record.keyId, record.currentMaterialId);
  if (current === undefined || now.getTime() - current.createdAt.getTime() > period * dayMs) return now;
  let resumed = next;
  while (resumed.getTime() <= now.getTime()) resumed = addDays(resumed, period);
  return resumed;
}
