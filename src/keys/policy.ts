// Key policies: AWS's default key policy, and the checks AWS makes on a policy document before
// storing it. Policies are stored and returned; evaluating them is not implemented.
import { LimitExceededException, MalformedPolicyDocumentException } from '../errors.js';

/** AWS's key policy size limit (bytes); the model allows larger documents than KMS accepts. */
export const maxPolicyBytes = 32 * 1024;

export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}

const statementKeys = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

/** Checks a policy document as IAM policy grammar, as far as KMS checks it before storing. */
export function checkPolicy(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > maxPolicyBytes)
    throw new LimitExceededException(`Policy exceeds the maximum size of ${maxPolicyBytes} bytes.`);
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new MalformedPolicyDocumentException('The new key policy will not allow you to update the key policy in the future.');
  }
  const malformed = (why: string) => new MalformedPolicyDocumentException(`Policy contains a statement with ${why}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new MalformedPolicyDocumentException('Policy document must be a JSON object.');
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : statements === undefined ? undefined : [statements];
  if (!list || list.length === 0) throw new MalformedPolicyDocumentException('Policy document must contain a Statement.');
  for (const s of list) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw malformed('an invalid element.');
    for (const k of Object.keys(s)) if (!statementKeys.has(k)) throw malformed(`an unknown element ${k}.`);
    const st = s as Record<string, unknown>;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformed('an invalid Effect.');
    if (st.Principal === undefined && st.NotPrincipal === undefined) throw malformed('no principal.');
    if (st.Action === undefined && st.NotAction === undefined) throw malformed('no action.');
    if (st.Resource === undefined && st.NotResource === undefined) throw malformed('no resource.');
  }
}
