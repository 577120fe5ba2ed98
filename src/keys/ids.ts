// New identifiers: key ids as AWS makes them (UUID v4, or mrk- and 32 hex digits for
// multi-Region keys) and 64-hex-digit key material ids.
import { randomBytes, randomUUID } from 'node:crypto';

export function newKeyId(multiRegion = false): string {
  return multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
}

export function newMaterialId(): string {
  return randomBytes(32).toString('hex');
}
