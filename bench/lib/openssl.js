// `openssl speed` as a baseline measured in the same run. Its machine-readable output (-mr) is
// parsed; note that openssl speed divides by CPU user time (not wall time) unless -elapsed, and
// runs one process: `-multi 2` forks two and sums them, the fair comparison for 64 in flight on
// two cores.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const opensslAlgorithms = {
  ECC_NIST_P256: 'ecdsap256',
  ECC_NIST_P384: 'ecdsap384',
  RSA_2048: 'rsa2048',
  ECC_NIST_EDWARDS25519: 'ed25519',
  // openssl speed (3.0) has no secp256k1 ECDSA test: that row has no openssl baseline.
};

export async function opensslVersion() {
  try {
    const { stdout } = await run('openssl', ['version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** Parses `openssl speed -mr` output into { alg: { sign, verify } } and { cipher: bytesPerSec }. */
export function parseSpeed(stdout) {
  const pk = {};
  const sym = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('+F')) continue; // "Got: +F…" lines are the children of -multi
    const f = line.split(':');
    switch (f[0]) {
      case '+F2': // RSA: +F2:idx:bits:sign/s:verify/s
        pk[`rsa${f[2]}`] = { sign: Number(f[3]), verify: Number(f[4]) };
        break;
      case '+F4': // ECDSA: +F4:idx:bits:sign/s:verify/s
        pk[`ecdsap${f[2]}`] = { sign: Number(f[3]), verify: Number(f[4]) };
        break;
      case '+F6': // EdDSA: +F6:idx:bits:name:sign/s:verify/s
        pk[f[3].toLowerCase()] = { sign: Number(f[4]), verify: Number(f[5]) };
        break;
      case '+F': // cipher/digest: +F:idx:name:bytes/s (one size with -bytes)
        sym[f[2]] = Number(f[3]);
        break;
      default:
    }
  }
  return { pk, sym };
}

async function speed(args) {
  const { stdout } = await run('openssl', ['speed', '-mr', ...args], { maxBuffer: 16 << 20 });
  return parseSpeed(stdout);
}

/**
 * Baselines for one public-key algorithm, run when its rows are about to be measured (the
 * machine is shared and noisy: a baseline is closest to its rows in time): sign/verify per second
 * for one process and for -multi 2.
 */
export async function opensslPk(alg, seconds) {
  const single = (await speed(['-seconds', String(seconds), alg])).pk[alg];
  const multi2 = (await speed(['-seconds', String(seconds), '-multi', '2', alg])).pk[alg];
  return { single, multi2 };
}

/** AES-256-GCM or HMAC-SHA256 over `bytes`, in operations per second (one process). */
export async function opensslSym(kind, seconds, bytes = 4096) {
  const args = kind === 'gcm' ? ['-evp', 'aes-256-gcm'] : ['-hmac', 'sha256'];
  const r = await speed(['-seconds', String(seconds), '-bytes', String(bytes), ...args]);
  const rate = Object.values(r.sym)[0];
  return rate === undefined ? undefined : rate / bytes;
}
