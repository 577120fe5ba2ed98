// The audit log file: JSON lines appended with O_APPEND (one write per batch, so several
// processes sharing a key store interleave whole lines), mode 0600.
//
// Durability: successful key management events go through appendDurable(), which writes and fsyncs before
// returning (the call that made the event returns only afterwards). Read-only events (the
// cryptographic operations) go through append(): buffered, and written within a second by an
// unref'd timer (which then has them fdatasync()ed off the event loop), when the buffer grows
// large, before any durable write (so the file keeps the order of events), on close (fsynced)
// and at process exit. Failed calls changed nothing and are buffered like read-only ones. A
// crash of the process (SIGKILL) loses at most the read-only events of the last second; a crash
// of the machine, those not yet synced (a second or two).
import { closeSync, fchmodSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const FLUSH_MS = 1000;
const MAX_BUFFERED_BYTES = 1024 * 1024;

const open = new Set<AuditLog>();
let exitHook = false;

function flushAllAtExit(): void {
  for (const log of open) log.flushQuietly();
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export class AuditLog {
  readonly path: string;
  private fd: number | undefined;
  private buffer: string[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private unsynced = false;
  private syncing = false;
  private closeAfterSync: number | undefined;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
    // An existing file keeps its mode on open: make sure it is 0600.
    fchmodSync(this.fd, 0o600);
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', flushAllAtExit);
    }
  }

  /** Buffers a line; it reaches the file within a second. */
  append(line: string): void {
    if (this.fd === undefined) return;
    this.buffer.push(line);
    this.buffered += line.length + 1;
    // A large buffer is written at once, without waiting for the disk; the timer syncs it.
    if (this.buffered >= MAX_BUFFERED_BYTES) this.writeQuietly();
    if (!this.timer) {
      this.timer = setTimeout(() => this.tick(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * The timer: writes what is buffered (then it survives a crash of this process) and has the
   * disk catch up off the event loop (a busy log is megabytes a second; fdatasync()ing that on
   * the event loop would stall every operation).
   */
  private tick(): void {
    this.timer = undefined;
    this.writeQuietly();
    const fd = this.fd;
    if (fd === undefined || !this.unsynced || this.syncing) return;
    this.unsynced = false;
    this.syncing = true;
    fdatasync(fd, (err) => {
      this.syncing = false;
      if (this.closeAfterSync !== undefined) {
        closeQuietly(this.closeAfterSync);
        this.closeAfterSync = undefined;
      } else if (err) {
        this.unsynced = true;
        this.warnOnce(err);
      }
    });
  }

  /** Writes a line (after anything buffered) and fsyncs before returning. */
  appendDurable(line: string): void {
    if (this.fd === undefined) return;
    this.buffer.push(line);
    this.buffered += line.length + 1;
    this.flush(true);
  }

  /** Writes and syncs what is buffered (and what was written unsynced). Throws on failure. */
  flush(full = false): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.fd === undefined) return;
    this.write();
    if (!this.unsynced && !full) return;
    if (full) fsyncSync(this.fd);
    else fdatasyncSync(this.fd);
    this.unsynced = false;
  }

  private write(): void {
    if (this.fd === undefined || this.buffer.length === 0) return;
    const data = Buffer.from(`${this.buffer.join('\n')}\n`, 'utf8');
    this.buffer = [];
    this.buffered = 0;
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    this.unsynced = true;
  }

  private writeQuietly(): void {
    try {
      this.write();
    } catch (err) {
      this.warnOnce(err);
    }
  }

  /** flush() that reports a failure once, as a process warning, instead of throwing. */
  flushQuietly(): void {
    try {
      this.flush();
    } catch (err) {
      this.warnOnce(err);
    }
  }

  /** appendDurable() that reports a failure as a process warning instead of throwing. */
  appendDurableQuietly(line: string): void {
    try {
      this.appendDurable(line);
    } catch (err) {
      this.warnOnce(err);
    }
  }

  close(): void {
    this.flushQuietly();
    open.delete(this);
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    // A background fdatasync() still holds the descriptor: it is closed when that is done, so
    // the number is never reused under it.
    if (this.syncing) this.closeAfterSync = fd;
    else closeQuietly(fd);
  }

  private warnOnce(err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    // The error names the file and the errno, nothing of the events.
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
    process.emitWarning(`embedded-kms: cannot write the audit log ${this.path} (${code}); audit events are being lost`, 'AuditLogWarning');
  }
}
