// Small AES and HMAC work on a software key already in memory runs on the calling thread
// (binding/key_handle.cpp, runsInline): about a microsecond of work, where a thread-pool round
// trip costs ten times that. Its promise is settled at once, so a loop of `await kms.encrypt()`
// would never give the event loop a turn: timers, I/O and the audit trail's writes would all
// wait for the loop to end, and the audit lines would pile up in memory meanwhile. A budget per
// event-loop turn bounds that: after PER_TURN inline operations in one turn, the turn's further
// operations take the thread pool (whose completion is a new turn), and the budget is renewed.
const PER_TURN = 64;

let used = 0;
let renewing = false;

function renew(): void {
  used = 0;
  renewing = false;
}

/** Whether this operation may run inline; counts it against the current turn's budget. */
export function inlineAllowed(): boolean {
  if (!renewing) {
    renewing = true;
    setImmediate(renew).unref();
  }
  used += 1;
  return used <= PER_TURN;
}
