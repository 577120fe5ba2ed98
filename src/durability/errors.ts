// The one error type of backup, restore, root key rotation and escrow. Messages say what to do
// and never contain key bytes or passphrases (check values are public and may appear, in hex).
export class DurabilityError extends Error {
  override readonly name = 'DurabilityError';
}
