// Key policies: AWS's default key policy, and the checks KMS makes on a policy document before
// storing it (JSON, IAM policy grammar, KMS's size limit). Policies are stored and returned;
// evaluating them is not implemented, so neither is the lockout safety check (it needs the
// caller's identity): BypassPolicyLockoutSafetyCheck is accepted and changes nothing.
import { LimitExceededException, MalformedPolicyDocumentException, NotFoundException } from '../errors.js';

/** KMS's key policy size limit (bytes); the service model allows larger documents than KMS accepts. */
export const maxPolicyBytes = 32 * 1024;

/** The only policy name a KMS key has. */
export const defaultPolicyName = 'default';

/**
 * The default key policy KMS gives a key created without one, byte for byte as GetKeyPolicy
 * returns it (AWS's pretty-printing: `" : "` and `[ {`).
 */
export function defaultKeyPolicy(accountRoot: string): string {
  return [
    '{',
    '  "Version" : "2012-10-17",',
    '  "Id" : "key-default-1",',
    '  "Statement" : [ {',
    '    "Sid" : "Enable IAM User Permissions",',
    '    "Effect" : "Allow",',
    '    "Principal" : {',
    `      "AWS" : "${accountRoot}"`,
    '    },',
    '    "Action" : "kms:*",',
    '    "Resource" : "*"',
    '  } ]',
    '}',
  ].join('\n');
}

/** GetKeyPolicy and PutKeyPolicy know one policy name. */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== defaultPolicyName) throw new NotFoundException('No such policy exists');
}

const documentKeys = new Set(['Version', 'Id', 'Statement']);
const versions = new Set(['2008-10-17', '2012-10-17']);
const statementKeys = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringOrStrings = (v: unknown): boolean =>
  typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));

function malformed(why: string): MalformedPolicyDocumentException {
  return new MalformedPolicyDocumentException(why);
}

/**
 * The forms a principal of each type can take. KMS also requires principals to exist, which
 * cannot be checked here (there is no IAM), but a value that can name no principal is refused as
 * KMS refuses it: an empty string, a bare word, an ARN of no IAM principal, a wildcard inside an
 * ARN (IAM matches principal ARNs whole).
 */
const principalForms: Record<string, RegExp> = {
  // "*", an account id, or the ARN of an account's root, a user or role, an assumed role's session
  // or a federated user.
  AWS: /^(?:\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:(?:root|(?:user|role)\/[^*?\s]+)|arn:aws[a-z-]*:sts::\d{12}:(?:assumed-role|federated-user)\/[^*?\s]+)$/,
  // A service's host name: kms.amazonaws.com, logs.us-west-2.amazonaws.com.
  Service: /^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+$/,
  // An identity provider's host name (accounts.google.com, cognito-identity.amazonaws.com) or
  // the ARN of an account's SAML or OIDC provider.
  Federated: /^(?:[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+|arn:aws[a-z-]*:iam::\d{12}:(?:saml-provider|oidc-provider)\/[^*?\s]+)$/i,
  // An Amazon S3 canonical user id.
  CanonicalUser: /^[0-9a-f]{64}$/,
};

/**
 * Whether a grant's GranteePrincipal or RetiringPrincipal can name a principal: an account, an
 * IAM user or role, an assumed role's session or a federated user (the policy form, without "*").
 */
export function isGrantPrincipal(value: string): boolean {
  return value !== '*' && principalForms.AWS!.test(value);
}

function checkPrincipal(p: unknown): void {
  if (p === '*') return;
  const invalid = () => malformed('Policy contains a statement with one or more invalid principals.');
  if (!isObject(p) || Object.keys(p).length === 0) throw invalid();
  for (const [type, value] of Object.entries(p)) {
    const form = Object.hasOwn(principalForms, type) ? principalForms[type] : undefined;
    if (!form || !isStringOrStrings(value)) throw invalid();
    for (const one of [value].flat() as string[]) if (!form.test(one)) throw invalid();
  }
}

/** Exactly one of Action and NotAction, as a string or a list of strings (null is not absent). */
function validAction(s: Record<string, unknown>): boolean {
  const given = ['Action', 'NotAction'].filter((k) => Object.hasOwn(s, k));
  return given.length === 1 && isStringOrStrings(s[given[0]!]);
}

/** A Resource of "*" (the key the policy is attached to), alone or in a list of nothing else. */
function validResource(s: Record<string, unknown>): boolean {
  if (Object.hasOwn(s, 'NotResource')) return false;
  const r = s.Resource;
  return r === '*' || (Array.isArray(r) && r.length > 0 && r.every((x) => x === '*'));
}

function checkStatement(s: unknown): void {
  if (!isObject(s)) throw malformed('Policy contains a statement that is not a JSON object.');
  for (const k of Object.keys(s)) if (!statementKeys.has(k)) throw malformed(`Policy contains a statement with an unknown element ${k}.`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed('Policy contains a statement with an invalid Effect.');
  const principal = s.Principal ?? s.NotPrincipal;
  if (principal === undefined || (s.Principal !== undefined && s.NotPrincipal !== undefined))
    throw malformed('Policy contains a statement with no principal.');
  checkPrincipal(principal);
  // Since 18 August 2025 AWS refuses a statement without an Action or NotAction, or without a
  // Resource, and "*" is the only Resource a key policy accepts (AWS's notice to its customers,
  // quoted in ministryofjustice/analytical-platform#7691; the KMS developer guide: "Resource –
  // (Required) … the value of the Resource element is "*""). The model's CreateKey and
  // PutKeyPolicy docs, older, still say such a statement is stored without effect.
  if (!validAction(s)) throw malformed('Policy contains a statement with no valid action.');
  if (!validResource(s)) throw malformed('Policy contains a statement with no valid resource. The only resource a key policy accepts is "*".');
  if (s.Condition !== undefined && !isObject(s.Condition)) throw malformed('Policy contains a statement with an invalid condition.');
  if (s.Sid !== undefined && typeof s.Sid !== 'string') throw malformed('Policy contains a statement with an invalid Sid.');
}

/** Checks a policy document as KMS does before storing it: size, JSON, IAM policy grammar. */
export function checkPolicy(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > maxPolicyBytes)
    throw new LimitExceededException(`Policy exceeds the maximum size of ${maxPolicyBytes} bytes.`);
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw malformed('Policy is not valid JSON.');
  }
  if (!isObject(doc)) throw malformed('Policy document must be a JSON object.');
  for (const k of Object.keys(doc)) if (!documentKeys.has(k)) throw malformed(`Policy contains an unknown element ${k}.`);
  if (doc.Version !== undefined && !(typeof doc.Version === 'string' && versions.has(doc.Version)))
    throw malformed('Policy contains an invalid Version.');
  if (doc.Id !== undefined && typeof doc.Id !== 'string') throw malformed('Policy contains an invalid Id.');
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
  if (statements.length === 0) throw malformed('Policy document must contain a Statement.');
  for (const s of statements) checkStatement(s);
}
