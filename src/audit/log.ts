// The audit log file: JSON lines appended with O_APPEND (one write per batch, so several
// processes sharing a key store interleave whole lines), mode 0600.
//
// Writes and syncs run on the libuv thread pool, one at a time and in order, never on the event
// loop: on these machines a page-cache write costs about 0.2 µs per KiB (50 µs a 256 KiB batch)
// and an fsync milliseconds, which on the event loop would stall every operation in flight.
//
// Durability: successful key management events go through appendDurable(), whose promise settles
// once the line and everything before it is written and fsynced (the call that made the event
// returns only afterwards). Read-only events (the cryptographic operations) go through append():
// buffered, and written within a second by an unref'd timer (which then has them fdatasync()ed),
// or sooner when the buffer grows large. Failed calls changed nothing and are buffered like
// read-only ones. close() writes and syncs everything. A crash of the process (SIGKILL) loses at
// most the read-only events of the last second; a crash of the machine, those not yet synced (a
// second or two). At a process exit without close(), what is buffered is written synchronously;
// a batch the thread pool was writing at that moment is written again, so it may appear twice
// (every event has its own eventID) but is never lost.
//
// Rotation: when the file is renamed or removed (logrotate's default `create` mode, or by hand),
// the next batch goes to a new file at the path, so no process keeps writing into the old one.
import { closeSync, fchmodSync, fdatasync, fstat, fstatSync, fsync, fsyncSync, mkdirSync, openSync, read, statSync, writev, writevSync } from 'node:fs';
import { dirname } from 'node:path';

import type { LinePiece } from './event.js';

const FLUSH_MS = 1000;
const MAX_BUFFERED_BYTES = 256 * 1024;
const CHUNK_BYTES = 64 * 1024;
/**
 * Written chunks kept for the next lines (512 KiB). A batch that a full buffer started holds its
 * 256 KiB and what was appended while its round began: 5 or 6 chunks, all needed again while it
 * is written. With 4 kept, 64 P-256 signatures in flight on SoftHSM2 made a fresh 64 KiB chunk
 * (memory to fault in, then to collect) every 280 calls; with 8, none after the first batches.
 */
const SPARE_CHUNKS = 8;

/** The file's size and last byte (undefined when empty or unreadable), off the event loop. */
function tail(fd: number): Promise<{ size: number; last: number | undefined }> {
  return new Promise((resolve) => {
    fstat(fd, (err, st) => {
      if (err || st.size === 0) return resolve({ size: err ? -1 : 0, last: undefined });
      const last = Buffer.alloc(1);
      read(fd, last, 0, 1, st.size - 1, (readErr, n) => resolve({ size: st.size, last: !readErr && n === 1 ? last[0] : undefined }));
    });
  });
}

/** How often endsMidLine looks again, and for how long a last line must stay unfinished. */
const LOOK_AGAIN_MS = 2;
const CUT_SHORT_AFTER_MS = 250;

/**
 * Whether the file ends in a line cut short: its last byte is not a newline and stays so, the
 * file not growing, for CUT_SHORT_AFTER_MS. Another process's write in progress ends mid-line
 * too, for a moment: the kernel grows the file as it copies the data in (and may pause a writer
 * mid-copy to let the disk catch up, for up to 200 ms), while our own write would wait for it to
 * finish. Ending that line would leave an empty line after it. So a file that grows, or comes to
 * end in a newline, is not cut short.
 * @internal exported for tests
 */
export async function endsMidLine(fd: number): Promise<boolean> {
  const first = await tail(fd);
  if (first.last === undefined || first.last === 0x0a) return false;
  for (let waited = 0; waited < CUT_SHORT_AFTER_MS; waited += LOOK_AGAIN_MS) {
    await new Promise((resolve) => setTimeout(resolve, LOOK_AGAIN_MS));
    const now = await tail(fd);
    if (now.size !== first.size || now.last === undefined || now.last === 0x0a) return false;
  }
  return true;
}

// Not from Node's shared pool (Buffer.alloc never is): a batch holds it, and a pooled slice at
// offset 0 of a 64 KiB pool would look like one of our chunks to reuse().
const NEWLINE = Buffer.alloc(1, 0x0a);

const open = new Set<AuditLog>();
let exitHook = false;

function flushAllAtExit(): void {
  for (const log of open) log.flushAtExit();
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** What is left of `parts` once their first `n` bytes are written. */
function after(parts: readonly Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
  const rest = parts.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}

function writeAllSync(fd: number, parts: readonly Buffer[]): void {
  while (parts.length > 0) parts = after(parts, writevSync(fd, parts as Buffer[]));
}

/** Writes the parts in order, in one writev() each time (a short write continues where it stopped). */
function writeAll(fd: number, parts: readonly Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (rest: readonly Buffer[]) =>
      writev(fd, rest as Buffer[], null, (err, n) => {
        if (err) reject(err);
        else if ((rest = after(rest, n)).length > 0) step(rest);
        else resolve();
      });
    step(parts);
  });
}

const syncFile = (fd: number, full: boolean): Promise<void> =>
  new Promise((resolve, reject) => (full ? fsync : fdatasync)(fd, (err) => (err ? reject(err) : resolve())));

export class AuditLog {
  readonly path: string;
  private fd: number | undefined;
  /**
   * Lines not yet handed to a write, encoded as they are appended: one UTF-8 copy per line, where
   * joining the lines into a string and encoding that cost three times more (about 2 µs a line).
   * They fill fixed chunks, never grown by copying: a caller that keeps the event loop busy for
   * a second (a loop of awaited inline signatures) buffers megabytes, and doubling one buffer
   * copied each byte twice more and faulted in fresh pages every time. A batch is written with
   * one writev(); its chunks then serve again (up to SPARE_CHUNKS). Every buffer a batch holds
   * has an ArrayBuffer of its own (allocUnsafeSlow, never a slice of Node's shared pool, whatever
   * Buffer.poolSize is), so reusing one never writes over someone else's bytes.
   */
  private full: Buffer[] = [];
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  private spare: Buffer[] = [];
  /** Bytes in `full` and `chunk`. */
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  /** Written but not yet synced. */
  private unsynced = false;
  /** The timer asked for what is buffered to be written and synced. */
  private syncDue = false;
  /** Durable appends waiting for their line to be on disk. */
  private waiters: (() => void)[] = [];
  /** The batch the thread pool is writing, until it is written. */
  private inFlight: Buffer[] | undefined;
  /** A writer (drain) runs; `written` settles when it stops. */
  private writing = false;
  private written: Promise<void> = Promise.resolve();
  /** The trail is a regular file (not /dev/null, a pipe or a terminal): it is chmod'ed and synced. */
  private regular = true;
  /** A failed write may have left half a line: the next batch starts on a new line. */
  private brokenLine = false;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = this.openFile(path);
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', flushAllAtExit);
    }
  }

  private openFile(path: string): number {
    let fd = openSync(path, 'a', 0o600);
    // An existing file keeps its mode on open: make sure it is 0600. Only a regular file: a
    // trail sent to /dev/null or a pipe must not change the device's mode (we may be root), and
    // there is nothing to sync there.
    this.regular = fstatSync(fd).isFile();
    if (this.regular) {
      fchmodSync(fd, 0o600);
      // A regular file is opened readable too, so that a line another process's failed write
      // cut short is seen (endsMidLine). Never a pipe: holding its read end ourselves, our
      // writes would block forever once its reader is gone, where they now fail (EPIPE).
      try {
        const readable = openSync(path, 'a+', 0o600);
        closeSync(fd);
        fd = readable;
      } catch {
        // Kept write-only: endsMidLine then cannot read, and says no.
      }
    }
    return fd;
  }

  /**
   * The descriptor to write the next batch to: a new file when the old one was renamed or
   * removed since it was opened. Only the writer (drain) calls this, so nothing is in flight on
   * the old descriptor; it is synced (off the event loop) and closed.
   */
  private async currentFd(fd: number): Promise<number> {
    let moved: boolean;
    try {
      const now = statSync(this.path);
      const mine = fstatSync(fd);
      moved = now.ino !== mine.ino || now.dev !== mine.dev;
    } catch {
      moved = true; // removed
    }
    if (!moved) return fd;
    let fresh: number;
    try {
      fresh = this.openFile(this.path);
    } catch (err) {
      this.warnOnce(err);
      return fd; // no new file can be made there: keep the old one rather than buffer forever
    }
    this.fd = fresh;
    this.unsynced = false;
    try {
      await syncFile(fd, true);
    } catch {
      // the old file's lines were written; a failed sync of a rotated file is not ours to report
    }
    closeQuietly(fd);
    return fresh;
  }

  /** Copies a line (its pieces, in order: see LinePiece) and a newline into the chunk. */
  private buffer(pieces: readonly LinePiece[]): void {
    // A UTF-16 unit becomes at most 3 bytes of UTF-8 (a surrogate pair, 2 units, 4 bytes).
    let room = 1;
    for (const piece of pieces) room += typeof piece === 'string' ? piece.length * 3 : piece.length;
    let chunk = this.chunk;
    let at = this.used;
    if (chunk.length - at < room) {
      // A line stays whole within one chunk: a line longer than a chunk gets one of its own.
      if (at > 0) this.full.push(chunk.subarray(0, at));
      chunk = this.chunk = room <= CHUNK_BYTES ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)) : Buffer.allocUnsafeSlow(room);
      at = 0;
    }
    const start = at;
    for (const piece of pieces) {
      if (typeof piece === 'string') at += chunk.write(piece, at);
      else {
        chunk.set(piece, at);
        at += piece.length;
      }
    }
    chunk[at++] = 0x0a;
    this.used = at;
    this.buffered += at - start;
  }

  /** Buffers a line (one string, or its pieces); it reaches the file within a second. */
  append(line: string | readonly LinePiece[]): void {
    if (this.fd === undefined) return;
    this.buffer(typeof line === 'string' ? [line] : line);
    if (this.buffered >= MAX_BUFFERED_BYTES) void this.pump();
    if (!this.timer) {
      this.timer = setTimeout(() => this.tick(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * Writes a line after everything before it; settles once all of it is fsynced, or once the
   * failure to write it was reported (AuditLogWarning). Never rejects.
   */
  appendDurable(line: string | readonly LinePiece[]): Promise<void> {
    if (this.fd === undefined) return Promise.resolve();
    this.buffer(typeof line === 'string' ? [line] : line);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      void this.pump();
    });
  }

  private tick(): void {
    this.timer = undefined;
    this.syncDue = true;
    void this.pump();
  }

  private hasWork(): boolean {
    return this.fd !== undefined && (this.waiters.length > 0 || this.syncDue || this.buffered >= MAX_BUFFERED_BYTES);
  }

  /**
   * Starts the writer unless it runs. A running writer looks for work again after each round
   * and stops in the same step as it finds none (`writing` is cleared synchronously), so work
   * added at any moment is either seen by it or starts a new one.
   */
  private pump(): Promise<void> {
    if (!this.writing) {
      this.writing = true;
      this.written = this.drain();
    }
    return this.written;
  }

  private async drain(): Promise<void> {
    try {
      while (this.hasWork()) await this.round();
    } finally {
      this.writing = false;
    }
  }

  /** One batch: what is buffered is written, then synced if someone waits for it or the timer asked. */
  private async round(): Promise<void> {
    const waiters = this.waiters;
    const full = waiters.length > 0;
    const syncRound = full || this.syncDue;
    this.waiters = [];
    this.syncDue = false;
    try {
      let fd = this.fd!;
      if (this.buffered > 0) {
        fd = await this.currentFd(fd);
        // A line cut short by a failed write, ours or another process's (which may have exited
        // since), is ended before this batch: otherwise the batch's first event would be glued
        // to half an event, and neither would parse.
        if (!this.brokenLine && this.regular && (await endsMidLine(fd))) this.brokenLine = true;
        const batch = (this.inFlight = this.take());
        try {
          await writeAll(fd, batch);
        } finally {
          this.inFlight = undefined;
        }
        this.reuse(batch);
        this.unsynced = true;
        this.warned = false; // a later failure is reported again
      }
      // Read-only events are synced by the timer's round only; a large buffer is just written.
      if (this.unsynced && syncRound) {
        if (this.regular) await syncFile(fd, full);
        this.unsynced = false;
      }
    } catch (err) {
      // The batch is dropped (reported once per run of failures); a line cut short by a failed
      // write is ended before the next batch, so every later line still parses.
      this.brokenLine = true;
      this.warnOnce(err);
    }
    for (const done of waiters) done();
  }

  /** Everything buffered, as the parts of one write; the buffer starts again, empty. */
  private take(): Buffer[] {
    const parts = this.full;
    if (this.used > 0) parts.push(this.chunk.subarray(0, this.used));
    if (this.brokenLine) parts.unshift(NEWLINE);
    this.brokenLine = false;
    this.full = [];
    this.chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    this.used = 0;
    this.buffered = 0;
    return parts;
  }

  /** Keeps the chunks of a written batch for the next lines (only whole, standard-sized ones). */
  private reuse(batch: readonly Buffer[]): void {
    for (const part of batch) {
      if (this.spare.length >= SPARE_CHUNKS) return;
      if (part === NEWLINE) continue;
      if (part.byteOffset === 0 && part.buffer.byteLength === CHUNK_BYTES) this.spare.push(Buffer.from(part.buffer, 0, CHUNK_BYTES));
    }
  }

  /** Writes and syncs everything appended so far. Never rejects (a failure is warned once). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Until nothing is buffered, unsynced or being written: appends made meanwhile are included.
    while (this.fd !== undefined && (this.writing || this.buffered > 0 || this.unsynced)) {
      this.syncDue = true;
      await this.pump();
      if (this.unsynced && this.buffered === 0 && !this.writing) break; // the sync failed: reported, not retried forever
    }
  }

  /** At process exit the thread pool is gone: what is left is written here, synchronously. */
  flushAtExit(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      if (this.inFlight) writeAllSync(fd, this.inFlight);
      this.inFlight = undefined;
      if (this.buffered > 0) writeAllSync(fd, this.take());
      if (this.regular) fsyncSync(fd);
    } catch (err) {
      this.warnOnce(err);
    }
  }

  /** Writes and syncs everything, then closes the file once no write is in flight on it. */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    // An append made while flush() was finishing starts a writer again: flush until none runs.
    // The check and the close below run in one step, so no write can start on the descriptor
    // between them (a closed descriptor number is soon reused by another file).
    do await this.flush();
    while (this.fd !== undefined && (this.writing || this.buffered > 0));
    open.delete(this);
    const fd = this.fd;
    this.fd = undefined;
    for (const done of this.waiters.splice(0)) done();
    this.full = [];
    this.used = 0;
    this.buffered = 0;
    if (fd !== undefined) closeQuietly(fd);
  }

  private warnOnce(err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    // The error names the file and the errno, nothing of the events.
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
    process.emitWarning(`embedded-kms: cannot write the audit log ${this.path} (${code}); audit events are being lost`, 'AuditLogWarning');
  }
}
