// Splits the command line into the command, the global options (accepted anywhere, as the AWS
// CLI accepts them) and the command's own flags with the values that follow each.

/** A command-line mistake: exit 252 with a usage message, as the AWS CLI's argument errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Global options that take a value. */
const GLOBAL_VALUE = new Set([
  '--endpoint-url',
  '--output',
  '--query',
  '--region',
  '--profile',
  '--cli-input-json',
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

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { help: false, globals: new Map(), switches: new Set(), flags: [], positionals: [] };
  let i = 0;
  while (i < argv.length) {
    const tok = argv[i]!;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const flag = eq > 0 ? tok.slice(0, eq) : tok;
      const inline = eq > 0 ? tok.slice(eq + 1) : undefined;
      i++;
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
