// Runs the CLI's main() in this process, capturing what it prints.
import { main } from '../../src/cli/main.js';
import type { Kms, KmsOptions } from '../../src/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function ekms(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = {},
  openKms?: (options: KmsOptions) => Promise<Kms>,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    // The machine's own AWS profile files stay out of the tests unless a test names its own.
    env: { AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_CONFIG_FILE: '/dev/null', ...env },
    ...(openKms ? { openKms } : {}),
  });
  return { code, stdout, stderr };
}
