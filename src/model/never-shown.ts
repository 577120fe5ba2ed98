// Values the audit trail never shows although the model does not mark them sensitive: grant
// tokens, which name a grant and are new per CreateGrant (like a credential), and lists of them.
// (Validation messages quote them as AWS's do: they go back to the caller who sent them.)
import { shapes } from './service-model.js';

const neverShown = new Set(['GrantTokenType']);

export function isNeverShown(shapeName: string): boolean {
  if (neverShown.has(shapeName)) return true;
  const s = shapes[shapeName];
  return s?.type === 'list' && s.member !== undefined && neverShown.has(s.member);
}
