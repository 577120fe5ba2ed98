// Splits the command line into the command, the global options (accepted anywhere, as the AWS
// CLI accepts them) and the command's own flags with the values that follow each.

/** A command-line mistake: exit 252 with a usage message, as the AWS CLI's argument errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Arguments no flag of the command takes: the AWS CLI prints these after its usage without `error:`. */
export class UnknownOptionsError extends UsageError {
  constructor(options: readonly string[], separator = ', ') {
    super(`Unknown options: ${options.join(separator)}`);
  }
}

/** Global options that take a value. */
const GLOBAL_VALUE = new Set([
  '--endpoint-url',
  '--output',
  '--query',
  '--region',
  '--profile',
  '--cli-input-json',
  '--cli-input-yaml',
  '--cli-timestamp-format',
  '--cli-binary-format',
  '--home',
  '--ca-bundle',
  '--cli-read-timeout',
  '--cli-connect-timeout',
  '--color',
]);
/** Global switches (several only accepted for compatibility with scripts written for `aws`). */
const GLOBAL_SWITCH = new Set(['--debug', '--no-verify-ssl', '--no-paginate', '--no-cli-pager', '--no-sign-request', '--help', '--version', '--cli-auto-prompt', '--no-cli-auto-prompt']);

/**
 * The global options in the AWS CLI's order (its ambiguity errors list them so), then ours (for
 * abbreviations: globalOption).
 */
const AWS_GLOBAL_ORDER = [
  '--debug',
  '--endpoint-url',
  '--no-verify-ssl',
  '--no-paginate',
  '--output',
  '--query',
  '--profile',
  '--region',
  '--version',
  '--color',
  '--no-sign-request',
  '--ca-bundle',
  '--cli-read-timeout',
  '--cli-connect-timeout',
  '--cli-binary-format',
  '--no-cli-pager',
  '--cli-auto-prompt',
  '--no-cli-auto-prompt',
];
const ABBREVIABLE = [...AWS_GLOBAL_ORDER, ...[...GLOBAL_VALUE, ...GLOBAL_SWITCH].filter((g) => g !== '--help' && !AWS_GLOBAL_ORDER.includes(g))];

export interface ParsedArgs {
  command?: string;
  /** `help` after the command (`ekms create-key help`). */
  help: boolean;
  globals: Map<string, string>;
  switches: Set<string>;
  /** The command's flags, in order, each with the values that followed it. */
  flags: { flag: string; values: string[] }[];
  /** Words after the command that belong to no flag (`ekms backup <file>`). */
  positionals: string[];
}

/**
 * The global option a flag names: itself, or the one it is a unique prefix of (argparse, which
 * reads the AWS CLI's global options first, lets `--out` stand for `--output`); undefined when it
 * names none (it is the command's), a usage error when it could be several.
 */
function globalOption(flag: string): string | undefined {
  if (GLOBAL_SWITCH.has(flag) || GLOBAL_VALUE.has(flag)) return flag;
  const matches = ABBREVIABLE.filter((g) => g.startsWith(flag));
  if (matches.length > 1) throw new UsageError(`ambiguous option: ${flag} could match ${matches.join(', ')}`);
  return matches[0];
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { help: false, globals: new Map(), switches: new Set(), flags: [], positionals: [] };
  let i = 0;
  while (i < argv.length) {
    const tok = argv[i]!;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const given = eq > 0 ? tok.slice(0, eq) : tok;
      const inline = eq > 0 ? tok.slice(eq + 1) : undefined;
      i++;
      const flag = (given.length > 2 && globalOption(given)) || given;
      if (GLOBAL_SWITCH.has(flag)) {
        out.switches.add(flag);
        continue;
      }
      if (GLOBAL_VALUE.has(flag)) {
        const v = inline ?? argv[i++];
        if (v === undefined) throw new UsageError(`argument ${flag}: expected one argument`);
        out.globals.set(flag, v);
        continue;
      }
      const values: string[] = inline !== undefined ? [inline] : [];
      while (inline === undefined && i < argv.length && !argv[i]!.startsWith('--')) values.push(argv[i++]!);
      out.flags.push({ flag, values });
      continue;
    }
    i++;
    if (out.command === undefined) out.command = tok;
    else if (tok === 'help') out.help = true;
    else out.positionals.push(tok);
  }
  return out;
}
