// Help text generated from the structure of the service model: operation and flag names,
// member types, required members, enum values and limits. (No AWS documentation prose: the
// model's structure is all we derive from it.)
import { operationNames, operations, shapes, type OperationName } from '../model/service-model.js';
import { operationTable } from '../operations/table.js';
import { commandFor, kebab, requiredMembers } from './names.js';
import { isPaginated } from './paginate.js';

function typeName(shapeName: string): string {
  const s = shapes[shapeName];
  if (!s) return shapeName;
  switch (s.type) {
    case 'list':
      return `list of ${typeName(s.member!)}`;
    case 'map':
      return `map of ${typeName(s.key!)} to ${typeName(s.value!)}`;
    case 'structure':
      return `structure ${shapeName}`;
    default:
      return s.type;
  }
}

function limits(shapeName: string): string[] {
  const s = shapes[shapeName];
  if (!s) return [];
  const out: string[] = [];
  const unit = s.type === 'blob' ? ' bytes' : s.type === 'list' ? ' items' : s.type === 'string' ? ' characters' : '';
  if (s.type === 'integer' || s.type === 'long') {
    if (s.min !== undefined) out.push(`min ${s.min}`);
    if (s.max !== undefined) out.push(`max ${s.max}`);
  } else if (s.min !== undefined || s.max !== undefined) {
    out.push(`length ${s.min ?? 0}..${s.max ?? '∞'}${unit}`);
  }
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.enum) out.push(`one of: ${s.enum.join(' | ')}`);
  if (s.type === 'blob') out.push('base64, or fileb://<path>');
  if (s.type === 'timestamp') out.push('ISO 8601 or epoch seconds');
  if (s.sensitive) out.push('sensitive');
  return out;
}

function describeMembers(shapeName: string, indent: string, depth: number, lines: string[]): void {
  const s = shapes[shapeName];
  const target = s?.type === 'list' ? shapes[s.member!] : s;
  const structName = s?.type === 'list' ? s.member! : shapeName;
  if (!target || target.type !== 'structure' || depth > 2) return;
  const required = new Set(shapes[structName]?.required ?? []);
  for (const [member, def] of Object.entries(target.members ?? {})) {
    const notes = [typeName(def.shape), ...(required.has(member) ? ['required'] : []), ...limits(def.shape)];
    lines.push(`${indent}${member} (${notes.join('; ')})`);
    describeMembers(def.shape, `${indent}    `, depth + 1, lines);
  }
}

export function operationHelp(op: OperationName): string {
  const cmd = commandFor(op);
  const def = operations[op]!;
  const input = def.input ? shapes[def.input] : undefined;
  const required = new Set(requiredMembers(op));
  const lines: string[] = ['NAME', `       ${cmd}  (AWS KMS ${op})`, ''];
  if (!operationTable.has(op)) lines.push('       Not implemented by embedded-kms yet: it answers UnsupportedOperationException.', '');
  lines.push('SYNOPSIS', `       ekms ${cmd}`);
  const members = Object.entries(input?.members ?? {});
  for (const [member, m] of members) {
    const flag = `--${kebab(member)}`;
    const isBool = shapes[m.shape]?.type === 'boolean';
    const text = isBool ? `${flag} | --no-${kebab(member)}` : `${flag} <value>`;
    lines.push(`          ${required.has(member) ? text : `[${text}]`}`);
  }
  // A listing is followed from page to page, as `aws` does it (paginate.ts).
  if (isPaginated(op)) lines.push('          [--starting-token <value>] [--page-size <value>] [--max-items <value>] [--no-paginate]');
  lines.push('          [--cli-input-json <value> | --cli-input-yaml <value>] [--generate-cli-skeleton [input]]', '          [--query <jmespath>] [--output json|text|table|yaml|yaml-stream]', '          [--endpoint-url <url>] [--home <dir>]', '');
  if (members.length) {
    lines.push('OPTIONS');
    for (const [member, m] of members) {
      const notes = [typeName(m.shape), ...(required.has(member) ? ['required'] : []), ...limits(m.shape)];
      lines.push(`       --${kebab(member)}  (${member}: ${notes.join('; ')})`);
      describeMembers(m.shape, '           ', 1, lines);
    }
    lines.push('');
  }
  if (def.output) {
    lines.push('OUTPUT');
    describeMembers(def.output, '       ', 0, lines);
    lines.push('');
  }
  lines.push('ERRORS', `       ${def.errors.join(', ')}`, '');
  return lines.join('\n');
}

export function topHelp(): string {
  const implemented = operationNames.filter((op) => operationTable.has(op));
  const notOffered = operationNames.filter((op) => !operationTable.has(op));
  return [
    'usage: ekms [options] <command> [parameters]',
    '',
    'An offline AWS KMS. Commands and flags are those of `aws kms`; the key store is',
    '$EKMS_HOME (or --home, default ./.ekms) unless --endpoint-url names an endpoint.',
    '',
    'COMMANDS',
    '       serve  [--host <addr>] [--port <n>] [--auth none|sigv4] [--tls-cert <pem> --tls-key <pem>]',
    '              [--workers <n>] [--no-console] ... (ekms serve help: every flag)',
    ...implemented.map((op) => `       ${commandFor(op)}`),
    '',
    'KEY STORE COMMANDS (not AWS operations; on the local store, import-key also through --endpoint-url)',
    '       import-key  --key-spec <spec> --key-file <path> [--key-usage <usage>] [--alias <alias/name>]',
    '       backup <file>',
    '       restore <file> [--root-key-file <file>] [--replace] [--adopt-token-objects] [--adopt-store-ids <id,...>]',
    '       rotate-root-key [--keep-previous-root-key-as <file>]',
    '       escrow-root-key <file> [--passphrase-file <file>]   (or EKMS_ESCROW_PASSPHRASE)',
    '       recover-root-key <file> [--passphrase-file <file>]  (or EKMS_ESCROW_PASSPHRASE)',
    '',
    ...(notOffered.length ? ['NOT OFFERED (answer UnsupportedOperationException; the README says why)', `       ${notOffered.map(commandFor).join(', ')}`, ''] : []),
    'GLOBAL OPTIONS',
    '       --endpoint-url <url>       send requests to an endpoint (SigV4-signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set)',
    '       --home <dir>               the local key store (default $EKMS_HOME or ./.ekms)',
    '       --region <region>          the local store\'s ARNs: default $EKMS_REGION, else the store\'s; with --endpoint-url,',
    '                                  the requests\' region: default $AWS_REGION, $AWS_DEFAULT_REGION, the profile\'s or us-east-1',
    '       --output json|text|table|yaml|yaml-stream',
    '       --query <jmespath>',
    '       --cli-input-json <json|file://path>',
    '       --cli-input-yaml <yaml|file://path>',
    '       --generate-cli-skeleton [input]',
    '                                  print a --cli-input-json template for the command, and make no call',
    '       --cli-timestamp-format iso8601|wire',
    '       --cli-binary-format base64|raw-in-base64-out',
    '       --profile <name>           with --endpoint-url: credentials and region from the AWS CLI\'s config files',
    '       --ca-bundle <pem file>     with --endpoint-url over HTTPS: the certificate authorities to trust',
    '       --no-verify-ssl            with --endpoint-url over HTTPS: do not verify the certificate',
    '       --no-sign-request          with --endpoint-url: send requests unsigned (also the case without credentials)',
    '       --no-paginate              a listing\'s first page only (its flags: ekms <command> help)',
    '',
    'Run `ekms <command> help` for the flags of a command.',
    '',
  ].join('\n');
}
