// The EmbeddedKmsWarnings a test sees: process.emitWarning emits them on a later tick.
import type t from 'tap';

/** The EmbeddedKmsWarnings emitted until the end of the test `tt`. */
export function collectWarnings(tt: Pick<typeof t, 'teardown'>): string[] {
  const warnings: string[] = [];
  const onWarning = (w: Error) => void (w.name === 'EmbeddedKmsWarning' && warnings.push(w.message));
  process.on('warning', onWarning);
  tt.teardown(() => void process.off('warning', onWarning));
  return warnings;
}

/** Waits until warnings emitted so far have been delivered. */
export const warningsOut = () => new Promise((resolve) => setImmediate(resolve));
