// GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. A key has one policy, named "default"; it is
// stored and returned as given (keys/policy.ts checks it), not evaluated.
import { checkKeyState } from '../../keys/state.js';
import { checkPolicy, checkPolicyName, defaultPolicyName } from '../../keys/policy.js';
import { defineOperation } from '../operation.js';
import { limitOf, nameAfter, pageOf } from './markers.js';

export const getKeyPolicy = defineOperation('GetKeyPolicy', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'GetKeyPolicy');
  checkPolicyName(input.PolicyName);
  return { Policy: key.record.policy, PolicyName: defaultPolicyName };
});

export const putKeyPolicy = defineOperation('PutKeyPolicy', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'PutKeyPolicy');
  checkPolicyName(input.PolicyName);
  checkPolicy(input.Policy);
  ctx.store.write(() => ctx.store.updateKey(key.record.keyId, { policy: input.Policy }));
  ctx.keys.invalidate(key.record.keyId);
  return {};
});

// AWS: Limit 1–1000, default 100; there is only ever one name.
export const listKeyPolicies = defineOperation('ListKeyPolicies', async (ctx, input) => {
  const key = ctx.keys.resolve(input.KeyId, { aliases: false });
  checkKeyState(key, 'ListKeyPolicies');
  const limit = limitOf(input.Limit, 100, 1000);
  const scope = `ListKeyPolicies ${key.record.keyId}`;
  const after = nameAfter(input.Marker, scope);
  const names = [defaultPolicyName].filter((n) => after === undefined || n > after);
  const page = pageOf(names, limit, (n) => n, scope);
  const out: { PolicyNames: string[]; Truncated: boolean; NextMarker?: string } = { PolicyNames: page.items, Truncated: page.Truncated };
  if (page.NextMarker !== undefined) out.NextMarker = page.NextMarker;
  return out;
});
