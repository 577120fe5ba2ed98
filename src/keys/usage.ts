// The checks every cryptographic operation makes on the key it was given, in AWS's order and
// words: the key state (the key-state table in state.ts, by operation name), then the key usage,
// then the algorithm.
import { InvalidKeyUsageException } from '../errors.js';
import type { KeyUsageType } from '../model/types.js';
import type { LoadedKey } from './registry.js';
import { checkKeyState } from './state.js';

export function requireUsableFor(key: LoadedKey, usage: KeyUsageType, operation: string): void {
  checkKeyState(key, operation);
  if (key.record.keyUsage !== usage)
    throw new InvalidKeyUsageException(`${key.arn} key usage is ${key.record.keyUsage} which is not valid for ${operation}.`);
}

export function requireAlgorithm(key: LoadedKey, algorithm: string, allowed: readonly string[] | undefined): void {
  if (!allowed?.includes(algorithm))
    throw new InvalidKeyUsageException(`Algorithm ${algorithm} is incompatible with key spec ${key.record.keySpec}.`);
}
