// Small AES and HMAC work on a software key already in memory runs on the calling thread
// (binding/key_handle.cpp, runsInline): about a microsecond of work, where a thread-pool round
// trip costs ten times that (a hundred on an idle VM, where waking a thread is slow). Its promise is settled at once, so a loop of `await kms.encrypt()`
// would never give the event loop a turn: timers, I/O and the audit trail's writes would all
// wait for the loop to end, and the audit lines would pile up in memory meanwhile. A budget per
// event-loop turn bounds that: after PER_TURN inline operations in one turn, further ones wait
// for the next turn (the budget is renewed there).
//
// ECDSA P-256 and Ed25519 Sign and Verify take a few tens of microseconds: about one idle round
// trip; so do an RSA key's Encrypt (its public key) and a P-256 ECDH, and a signature by a token
// that has proved that fast (SoftHSM2's P-256: the addon measures the token,
// pkcs11/token_key.cpp). They all go through budgetedSign, and run inline only while none of ours
// waits on the pool (a caller doing one at a time, the common case, gets its result without any
// thread hand-off; a busy process keeps spreading the work over the cores), and in one turn at
// most SIGNS_PER_TURN of them, started within SIGN_MS of the first.
//
// Longer ones (the other curves' signatures and ECDH, 0.25-0.65 ms; software RSA-2048 Sign and
// Decrypt; a token's RSA-2048: 0.3-0.8 ms) run inline for a caller doing one at a time only. One
// that took over COSTLY_MS inline counts as in flight until its promise settles, as one on the
// pool does: its caller cannot have started the next call before then, so a signature that starts
// meanwhile belongs to another caller, and goes to the pool, where it runs beside the others on
// the second core instead of after them on this one.
import { nativeThen } from './native-errors.js';
import { isPromise } from '../promise.js';

const PER_TURN = 64;
const SIGNS_PER_TURN = 32;
const SIGN_MS = 1;
const COSTLY_MS = 0.2;

let used = 0;
let signs = 0;
let firstSignAt = 0;
/** Signatures on the pool, and costly ones that ran inline, whose promises have not settled. */
let signsInFlight = 0;
let signsWaiting = 0;
let renewing = false;

/** Calls of any kind settled without waiting in one turn before the next must wait for a turn. */
const SETTLED_PER_TURN = 1024;
let settledAtOnce = 0;

function renew(): void {
  used = 0;
  signs = 0;
  settledAtOnce = 0;
  renewing = false;
}

function renewNextTurn(): void {
  if (renewing) return;
  renewing = true;
  setImmediate(renew).unref();
}

/**
 * For an AES or HMAC operation: undefined when it may run inline now (counted against this turn's
 * budget), else a promise for a later turn where it may. Waiting a turn (setImmediate) costs a
 * microsecond or two; a thread-pool round trip instead would cost far more than the work.
 */
function inlineSlot(): Promise<void> | undefined {
  renewNextTurn();
  if (used < PER_TURN) {
    used += 1;
    return undefined;
  }
  return new Promise<void>((resolve) => setImmediate(resolve)).then(inlineSlot);
}

/**
 * For an AES or HMAC operation: starts the native call now when this turn's budget allows it
 * (inlineSlot), else in a later turn, and maps its result with `then`. Work that ran inline gives
 * its output at once, without a promise (operation.ts); failures are AWS errors either way.
 */
export function budgeted<T, U>(start: () => T | Promise<T>, then: (result: T) => U): U | Promise<U> {
  const go = (): U | Promise<U> => nativeThen(start, then);
  const slot = inlineSlot();
  return slot ? slot.then(go) : go();
}

const settled = (): void => {
  signsInFlight -= 1;
};

/**
 * Starts a Sign or Verify (or an RSA key's Encrypt or Decrypt, an ECDH), allowing it to run
 * inline when the budget says so (the key decides whether it is cheap enough); one not allowed is counted as on the pool until it settles. Work
 * done inline returns its result itself (or throws); work on the pool, a promise.
 *
 * When this turn's budget is spent, a lone signature (a caller doing one at a time) waits for
 * the next turn and may run inline there: a turn costs a few microseconds where the pool's round
 * trip costs a hundred. Others arriving meanwhile go to the pool, so many in flight still spread
 * over the cores.
 */
export function budgetedSign<T>(start: (allowInline: boolean) => T | Promise<T>): T | Promise<T> {
  renewNextTurn();
  if (signsInFlight === 0 && signsWaiting === 0) {
    const now = performance.now();
    if (signs === 0) firstSignAt = now;
    if (signs < SIGNS_PER_TURN && used < PER_TURN && now - firstSignAt < SIGN_MS) {
      signs += 1;
      used += 1;
      const r = start(true);
      if (performance.now() - now > COSTLY_MS) {
        signsInFlight += 1;
        // Settled now (done inline): its caller resumes in a later microtask, not before this.
        if (isPromise(r)) r.then(settled, settled);
        else queueMicrotask(settled);
      }
      return r;
    }
    signsWaiting += 1;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      signsWaiting -= 1;
      return budgetedSign(start);
    });
  }
  // Counted only once started: a start that throws at once (the key's material gone) settles
  // nothing, and must not leave every later signature of the process on the pool.
  const p = Promise.resolve(start(false));
  signsInFlight += 1;
  p.then(settled, settled);
  return p;
}

/**
 * Whether a call may settle now (its audit line and result): true unless too many settled at
 * once in this turn. A call that finished without waiting for anything (a metadata read such as
 * DescribeKey, a failure found before any native work, a cryptographic call run inline) settles
 * in the turn it was made in, so a loop of them would never give the event loop a turn: the
 * audit trail's lines would pile up in memory unwritten and timers never fire. After
 * SETTLED_PER_TURN of them in one turn (the cryptographic budget above comes first, for those),
 * the next ones settle after nextTurn(). A plain counter, no closure: this is on every call's path.
 */
export function settlesNow(): boolean {
  renewNextTurn();
  return ++settledAtOnce <= SETTLED_PER_TURN;
}

/** Resolves in the event loop's next turn. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
