// The crash test's model of a store: what the acknowledged operations in the children's logs
// say must be there. A value may have alternatives: a call in flight when its process was killed
// may or may not have happened. Each check against the store then settles the value (the store
// no longer changes once its writer is dead), so the model stays exact.
export interface Allowed<T> {
  v: T;
  alt: T[];
}

export interface KeyModel {
  spec: string;
  state: Allowed<string>;
  materials: Allowed<number>;
  tags: Map<string, Allowed<string | null>>;
  ciphertexts: string[];
  signatures: string[];
  macs: string[];
}

export interface LogEntry {
  t: 's' | 'a' | 'e';
  i: number;
  op: string;
  key?: string;
  spec?: string;
  alias?: string;
  tagKey?: string;
  value?: string;
  ct?: string;
  sig?: string;
  mac?: string;
}

export const tagKeys = ['t0', 't1', 't2'];

const fixed = <T>(v: T): Allowed<T> => ({ v, alt: [] });

export function allows<T>(a: Allowed<T>, actual: T): boolean {
  return a.v === actual || a.alt.includes(actual);
}

export function settle<T>(a: Allowed<T>, actual: T): void {
  a.v = actual;
  a.alt = [];
}

export class StoreModel {
  readonly keys = new Map<string, KeyModel>();
  readonly aliases = new Map<string, Allowed<string | null>>();
  acknowledged = 0;
  /** Keys touched by the last life (checked with crypto after its kill). */
  touched = new Set<string>();

  newKey(keyId: string, spec: string, state = 'Enabled', materials = 1): KeyModel {
    const k: KeyModel = { spec, state: fixed(state), materials: fixed(materials), tags: new Map(), ciphertexts: [], signatures: [], macs: [] };
    this.keys.set(keyId, k);
    return k;
  }

  private key(keyId: string | undefined, problems: string[]): KeyModel | undefined {
    const k = keyId === undefined ? undefined : this.keys.get(keyId);
    if (!k) problems.push(`log names a key the model does not know: ${keyId}`);
    return k;
  }

  private tag(k: KeyModel, tagKey: string): Allowed<string | null> {
    let a = k.tags.get(tagKey);
    if (!a) k.tags.set(tagKey, (a = fixed<string | null>(null)));
    return a;
  }

  private alias(name: string): Allowed<string | null> {
    let a = this.aliases.get(name);
    if (!a) this.aliases.set(name, (a = fixed<string | null>(null)));
    return a;
  }

  /**
   * Applies one life's log. Acknowledged effects become the expected values; the effect of the
   * call in flight at the kill becomes an alternative. Returns the call in flight, if any.
   */
  applyLife(lines: string[], problems: string[]): LogEntry | undefined {
    this.touched = new Set();
    let inFlight: LogEntry | undefined;
    for (const line of lines) {
      const e = JSON.parse(line) as LogEntry;
      if (e.t === 's') inFlight = e;
      else {
        if (!inFlight || inFlight.i !== e.i) problems.push(`log out of order at ${line}`);
        inFlight = undefined;
        if (e.t === 'a') {
          this.acknowledged++;
          this.effect(e, problems, (a, v) => settle(a as Allowed<unknown>, v));
        }
      }
    }
    if (inFlight) this.effect(inFlight, problems, (a, v) => (a as Allowed<unknown>).alt.push(v));
    return inFlight;
  }

  private effect(e: LogEntry, problems: string[], put: <T>(a: Allowed<T>, v: T) => void): void {
    if (e.key !== undefined) this.touched.add(e.key);
    switch (e.op) {
      case 'CreateKey':
        // In flight: the key may exist; the check adopts it from the store.
        if (e.t === 'a') this.newKey(e.key as string, e.spec as string);
        return;
      case 'Encrypt':
        if (e.t === 'a') this.key(e.key, problems)?.ciphertexts.push(e.ct as string);
        return;
      case 'Sign':
        if (e.t === 'a') this.key(e.key, problems)?.signatures.push(e.sig as string);
        return;
      case 'GenerateMac':
        if (e.t === 'a') this.key(e.key, problems)?.macs.push(e.mac as string);
        return;
      case 'RotateKeyOnDemand': {
        const k = this.key(e.key, problems);
        if (k) put(k.materials, k.materials.v + 1);
        return;
      }
      case 'CreateAlias':
      case 'UpdateAlias':
        put(this.alias(e.alias as string), e.key as string);
        return;
      case 'DeleteAlias':
        put(this.alias(e.alias as string), null);
        return;
      case 'TagResource':
      case 'UntagResource': {
        const k = this.key(e.key, problems);
        if (k) put(this.tag(k, e.tagKey as string), e.op === 'TagResource' ? (e.value as string) : null);
        return;
      }
      case 'ScheduleKeyDeletion':
      case 'CancelKeyDeletion':
      case 'DisableKey':
      case 'EnableKey': {
        const k = this.key(e.key, problems);
        const state = { ScheduleKeyDeletion: 'PendingDeletion', CancelKeyDeletion: 'Disabled', DisableKey: 'Disabled', EnableKey: 'Enabled' }[e.op];
        if (k) put(k.state, state);
        return;
      }
      default:
        problems.push(`unknown operation in log: ${e.op}`);
    }
  }
}
