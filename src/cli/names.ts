// Operation and flag names as the AWS CLI derives them from the model (botocore's xform_name):
// `GenerateDataKeyPair` → `generate-data-key-pair`, `AWSAccountId` → `aws-account-id`.
import { operationNames, operations, shapes, type OperationName } from '../model/service-model.js';
import { UsageError } from './args.js';

export function kebab(name: string): string {
  let n = name;
  // Plural acronyms at the end ("ARNs") stay one word.
  const special = /[A-Z]{2,}s$/.exec(n);
  if (special) n = `${n.slice(0, -special[0].length)}-${special[0].toLowerCase()}`;
  n = n.replace(/(.)([A-Z][a-z]+)/g, '$1-$2');
  return n.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

const byCommand = new Map<string, OperationName>(operationNames.map((op) => [kebab(op), op]));

/** `create-key` → `CreateKey`. */
export function operationForCommand(command: string): OperationName | undefined {
  return byCommand.get(command);
}

/** 2·(longest common subsequence) ÷ (both lengths): 1 for equal words, 0 for words sharing nothing. */
function likeness(a: string, b: string): number {
  let row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const next = [0];
    for (let j = 1; j <= b.length; j++) next[j] = a[i - 1] === b[j - 1] ? row[j - 1]! + 1 : Math.max(row[j]!, next[j - 1]!);
    row = next;
  }
  return (2 * row[b.length]!) / (a.length + b.length);
}

/**
 * The commands a mistyped one may have meant, most alike first: as the AWS CLI's "maybe you
 * meant" (difflib's close matches: at most 3, at least 0.6 alike).
 */
export function similarCommands(command: string, others: readonly string[] = []): string[] {
  return [...byCommand.keys(), ...others]
    .map((name) => ({ name, score: likeness(command, name) }))
    .filter((c) => c.score >= 0.6)
    .sort((x, y) => y.score - x.score)
    .slice(0, 3)
    .map((c) => c.name);
}

export function commandFor(op: OperationName): string {
  return kebab(op);
}

export interface FlagDef {
  member: string;
  shape: string;
  /** `--no-x` of a boolean member. */
  negated: boolean;
}

const flagCache = new Map<OperationName, Map<string, FlagDef>>();

/** The flags of an operation's input members: `--key-id`, and `--x`/`--no-x` for booleans. */
export function flagsOf(op: OperationName): Map<string, FlagDef> {
  let flags = flagCache.get(op);
  if (!flags) {
    flags = new Map();
    const input = operations[op]!.input;
    for (const [member, def] of Object.entries((input && shapes[input]?.members) ?? {})) {
      const flag = `--${kebab(member)}`;
      flags.set(flag, { member, shape: def.shape, negated: false });
      if (shapes[def.shape]?.type === 'boolean') flags.set(`--no-${kebab(member)}`, { member, shape: def.shape, negated: true });
    }
    flagCache.set(op, flags);
  }
  return flags;
}

/** The input members of an operation that the model marks required. */
export function requiredMembers(op: OperationName): readonly string[] {
  const input = operations[op]!.input;
  return input ? (shapes[input]?.required ?? []) : [];
}

/**
 * The flag that `given` abbreviates, as argparse (and so the AWS CLI) lets a unique prefix stand
 * for a flag (`--key` for `--key-id`); `given` itself when none does, an error when several could.
 */
export function abbreviated(given: string, flags: ReadonlyMap<string, unknown>): string {
  const matches = [...flags.keys()].filter((f) => f.startsWith(given));
  if (matches.length > 1) throw new UsageError(`ambiguous option: ${given} could match ${matches.join(', ')}`);
  return matches[0] ?? given;
}
