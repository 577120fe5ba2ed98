// The key policy the create-key wizard proposes: AWS's default key policy for keys created in
// its console, made of the account statement (the programmatic default's only statement), then
// the key administrators, the key users, and the users' grants for AWS services. Statements
// whose principal list would be empty are left out, as an empty Principal is not valid.
// A pure module: the page and the Node tests both import it.

export const POLICY_ID = 'key-consolepolicy-3';

export const SID = Object.freeze({
  account: 'Enable IAM User Permissions',
  administrators: 'Allow access for Key Administrators',
  users: 'Allow use of the key',
  grants: 'Allow attachment of persistent resources',
});

const ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
];
const DELETE_ACTIONS = ['kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion'];

/** The key users' actions for each kind of key, in the order AWS's console writes them. */
export function userActions(keyType, keyUsage) {
  if (keyUsage === 'GENERATE_VERIFY_MAC') return ['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac'];
  if (keyUsage === 'SIGN_VERIFY') return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify'];
  if (keyUsage === 'KEY_AGREEMENT') return ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:DeriveSharedSecret'];
  if (keyType === 'SYMMETRIC') return ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];
  return ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:DescribeKey', 'kms:GetPublicKey'];
}

/** The administrators' actions; on-demand rotation exists for symmetric encryption keys only. */
export function adminActions(keySpec, adminsMayDelete) {
  const actions = [...ADMIN_ACTIONS];
  if (adminsMayDelete) actions.push(...DELETE_ACTIONS);
  if (keySpec === 'SYMMETRIC_DEFAULT') actions.push('kms:RotateKeyOnDemand');
  return actions;
}

// AWS writes a single principal as a string and several as a list.
const principal = (arns) => ({ AWS: arns.length === 1 ? arns[0] : [...arns] });

/**
 * The policy document (pretty-printed JSON) for a new key.
 * @param {{partition: string, accountId: string, keySpec: string, keyType: string, keyUsage: string,
 *          administrators: string[], users: string[], adminsMayDelete: boolean}} choice
 */
export function consoleKeyPolicy(choice) {
  const statements = [
    { Sid: SID.account, Effect: 'Allow', Principal: { AWS: `arn:${choice.partition}:iam::${choice.accountId}:root` }, Action: 'kms:*', Resource: '*' },
  ];
  if (choice.administrators.length > 0)
    statements.push({
      Sid: SID.administrators,
      Effect: 'Allow',
      Principal: principal(choice.administrators),
      Action: adminActions(choice.keySpec, choice.adminsMayDelete),
      Resource: '*',
    });
  if (choice.users.length > 0) {
    statements.push({
      Sid: SID.users,
      Effect: 'Allow',
      Principal: principal(choice.users),
      Action: userActions(choice.keyType, choice.keyUsage),
      Resource: '*',
    });
    statements.push({
      Sid: SID.grants,
      Effect: 'Allow',
      Principal: principal(choice.users),
      Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
      Resource: '*',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
  }
  return JSON.stringify({ Id: POLICY_ID, Version: '2012-10-17', Statement: statements }, null, 2);
}
