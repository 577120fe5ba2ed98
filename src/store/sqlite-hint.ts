// What a SQLite failure most likely means for the user, beside SQLite's own words (which for a
// full disk are often only "disk I/O error").

/** The SQLite result code of an error (SQLITE_FULL, SQLITE_IOERR_SHMSIZE, ...), if it has one. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** The likely cause of a failed SQLite call, by its code; undefined when there is no good guess. */
export function sqliteHint(code: string): string | undefined {
  if (code.startsWith('SQLITE_READONLY')) return 'the key store needs to write beside its file (a read-only file system or folder?)';
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) return 'is the file system full?';
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH'))
    return 'the folder must exist, and this user must be able to read and write it';
  return undefined;
}

/** SQLite's message with its code and the likely cause: "disk I/O error (SQLITE_IOERR_WRITE); is the file system full?". */
export function sqliteMessage(err: Error, code: string): string {
  const hint = sqliteHint(code);
  return `${err.message} (${code})${hint ? `; ${hint}` : ''}`;
}
