// Switching a new SQLite file to WAL mode needs the file to itself for a moment, and SQLite
// answers SQLITE_BUSY at once, without waiting out the busy timeout, when another connection is
// switching or opening it at the same moment: processes creating one home together (the workers of
// `ekms serve --workers`, a test suite's processes) failed to open it about once in every four
// rounds of six. The switch is tried again, briefly, until it goes through.
import type { Database } from 'better-sqlite3';

const ATTEMPTS = 100;
const PAUSE_MS = 10;
const pause = new Int32Array(new SharedArrayBuffer(4));

export function useWal(db: Database): void {
  for (let attempt = 1; ; attempt++) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if (attempt >= ATTEMPTS || !String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw err;
      Atomics.wait(pause, 0, 0, PAUSE_MS); // a synchronous pause: opening is synchronous
    }
  }
}
