// What the create-key wizard may offer, derived from the engine's own tables so the page never
// holds a second copy: key specs and the usages each allows (keys/specs.ts), with a short hint
// built from the spec's algorithms; and the limits the forms show (from the service model and
// the modules that enforce them). The page receives this as JSON with its session.
import { maxPendingWindowDays, minPendingWindowDays, defaultPendingWindowDays } from '../keys/deletion.js';
import { maxPolicyBytes } from '../keys/policy.js';
import { defaultRotationPeriodDays } from '../keys/rotation.js';
import { keySpecs, oaepLimit, type SpecInfo } from '../keys/specs.js';
import { maxTagsPerKey } from '../keys/tags.js';
import { shapes } from '../model/service-model.js';
import type { KeySpec, KeyUsageType } from '../model/types.js';

export type KeyType = 'SYMMETRIC' | 'ASYMMETRIC';

export interface SpecChoice {
  KeySpec: KeySpec;
  KeyType: KeyType;
  /** The key usages this spec allows, in keys/specs.ts's order. */
  KeyUsages: KeyUsageType[];
  /** Per usage: one sentence on what the key is and which algorithms it offers. */
  Hints: Partial<Record<KeyUsageType, string>>;
  Supported: boolean;
  UnsupportedReason?: string;
}

/** Symmetric keys are the ones whose material never leaves the service in any form. */
export function keyTypeOf(info: SpecInfo): KeyType {
  return info.mac !== undefined || info.encryption?.includes('SYMMETRIC_DEFAULT') ? 'SYMMETRIC' : 'ASYMMETRIC';
}

/** What kind of key a spec names, in words (by the naming scheme of AWS's key specs). */
function family(spec: KeySpec): string {
  if (spec === 'SYMMETRIC_DEFAULT') return 'A 256-bit AES-GCM key.';
  if (spec.startsWith('HMAC_')) return `A ${spec.slice(5)}-bit HMAC key.`;
  if (spec.startsWith('RSA_')) return `An RSA key pair with a ${spec.slice(4)}-bit modulus.`;
  if (spec.startsWith('ECC_NIST_P')) return `An elliptic curve key pair on NIST P-${spec.slice(10)}.`;
  if (spec === 'ECC_SECG_P256K1') return 'An elliptic curve key pair on secp256k1, the curve of Bitcoin and Ethereum.';
  if (spec === 'ECC_NIST_EDWARDS25519') return 'An Ed25519 key pair.';
  if (spec === 'SM2') return 'An SM2 key pair (Chinese national standard).';
  if (spec.startsWith('ML_DSA_')) return `A post-quantum ML-DSA-${spec.slice(7)} key pair.`;
  return `A ${spec} key.`;
}

function algorithms(info: SpecInfo, usage: KeyUsageType): readonly string[] {
  switch (usage) {
    case 'ENCRYPT_DECRYPT':
      return info.encryption ?? [];
    case 'SIGN_VERIFY':
      return info.signing ?? [];
    case 'KEY_AGREEMENT':
      return info.keyAgreement ?? [];
    case 'GENERATE_VERIFY_MAC':
      return info.mac ?? [];
  }
}

function hint(spec: KeySpec, info: SpecInfo, usage: KeyUsageType): string {
  const parts = [family(spec), `Algorithms: ${algorithms(info, usage).join(', ')}.`];
  const limit = usage === 'ENCRYPT_DECRYPT' ? oaepLimit(spec, 'RSAES_OAEP_SHA_256') : undefined;
  if (limit !== undefined) parts.push(`Encrypts up to ${limit} bytes with RSAES_OAEP_SHA_256.`);
  return parts.join(' ');
}

export function specChoices(): SpecChoice[] {
  return (Object.entries(keySpecs) as [KeySpec, SpecInfo][]).map(([spec, info]) => {
    const choice: SpecChoice = {
      KeySpec: spec,
      KeyType: keyTypeOf(info),
      KeyUsages: [...info.usages],
      Hints: Object.fromEntries(info.usages.map((u) => [u, hint(spec, info, u)])),
      Supported: info.supported,
    };
    if (info.unsupportedReason !== undefined) choice.UnsupportedReason = info.unsupportedReason;
    return choice;
  });
}

const range = (shape: string): { Min: number; Max: number } => ({ Min: shapes[shape]!.min!, Max: shapes[shape]!.max! });

/** The limits the console's forms show and check before asking the service. */
export function formLimits() {
  return {
    KeyStates: [...(shapes.KeyState!.enum ?? [])],
    PendingWindowInDays: { Min: minPendingWindowDays, Max: maxPendingWindowDays, Default: defaultPendingWindowDays },
    RotationPeriodInDays: { ...range('RotationPeriodInDaysType'), Default: defaultRotationPeriodDays },
    TagKeyLength: range('TagKeyType'),
    TagValueLength: range('TagValueType'),
    MaxTagsPerKey: maxTagsPerKey,
    DescriptionLength: range('DescriptionType'),
    PolicyBytes: maxPolicyBytes,
  };
}
