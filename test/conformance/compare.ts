// Comparing our responses with AWS's recorded ones (aws-kms-recorded-responses.json): shapes and
// error types exactly; messages and values after masking what differs by nature (key ids, ARNs,
// accounts, key material ids, timestamps, blobs); enum lists in messages as sets, checked
// against the current model since the recordings predate newer enum values.
import { shapes } from '../../src/model/service-model.js';

const ARN = /arn:[^:\s']+:kms:[^:\s']*:[^:\s']+:(?:key|alias)\/[^\s']+?(?=['\s.]|$)/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const PLACEHOLDER = /<[a-z-]+(?::\d+)?>/g;

export function mask(s: string): string {
  return s
    .replace(ARN, '<arn>')
    .replace(/mrk-[0-9a-f]{32}/g, '<id>')
    .replace(UUID, '<id>')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>')
    .replace(PLACEHOLDER, (m) => (m === '<arn>' || m.endsWith('-arn>') ? '<arn>' : '<id>'));
}

const ENUM_LIST = /enum value set: \[([^\]]*)\]/g;

function enumLists(s: string): string[][] {
  return [...s.matchAll(ENUM_LIST)].map((m) => m[1]!.split(',').map((v) => v.trim()).filter(Boolean));
}

/** Problems with the enum lists of `actual` compared with `recorded`; [] when they agree. */
function enumProblems(recorded: string, actual: string): string[] {
  const r = enumLists(recorded);
  const a = enumLists(actual);
  if (r.length !== a.length) return [`${a.length} enum lists where AWS has ${r.length}`];
  const problems: string[] = [];
  r.forEach((rec, i) => {
    const ours = new Set(a[i]);
    const missing = rec.filter((v) => !ours.has(v));
    if (missing.length) problems.push(`enum list lacks ${missing.join(', ')}`);
    // Ours must be the value set of a shape of the current model that covers AWS's list, less
    // only SM2 where AWS's list leaves it out too (China Regions only: validate.ts).
    const omitted = (v: string) => v === 'SM2' && !rec.includes(v);
    const fits = Object.values(shapes).some(
      (s) => s.enum && rec.every((v) => s.enum!.includes(v)) && [...ours].every((v) => s.enum!.includes(v)) && s.enum.every((v) => ours.has(v) || omitted(v)),
    );
    if (!fits) problems.push(`enum list [${[...ours].join(', ')}] is not the model's value set for [${rec.join(', ')}]`);
  });
  return problems;
}

export function sameMessage(recorded: string, actual: string): string[] {
  const problems = enumProblems(recorded, actual);
  const r = mask(recorded.replace(ENUM_LIST, 'enum value set: [<enum>]'));
  const a = mask(actual.replace(ENUM_LIST, 'enum value set: [<enum>]'));
  if (r !== a) problems.push(`message ${JSON.stringify(actual)} ≠ AWS ${JSON.stringify(recorded)}`);
  return problems;
}

/**
 * Members of the current model that some recordings predate: the key material ids of data key
 * and ReEncrypt responses (the same recording already shows Decrypt's KeyMaterialId, added to the
 * model together with them). Present in ours and absent from a recording, they are not a
 * difference; a wrong type still is.
 */
const NEWER_MEMBERS = new Set(['KeyMaterialId', 'SourceKeyMaterialId', 'DestinationKeyMaterialId']);

/** Differences between a recorded value and ours, each with its path. */
export function diff(recorded: unknown, actual: unknown, path = ''): string[] {
  const at = path || '(top)';
  if (recorded === 'datetime') return actual instanceof Date ? [] : [`${at}: expected a timestamp`];
  if (actual instanceof Uint8Array) return typeof recorded === 'string' ? [] : [`${at}: a blob where AWS has ${JSON.stringify(recorded)}`];
  if (typeof recorded === 'string') {
    if (typeof actual !== 'string') return [`${at}: ${JSON.stringify(actual)} where AWS has a string`];
    if (/^<[^<>]+>$/.test(recorded)) return []; // a masked value: any string
    if (/^\d{12}$/.test(recorded) && /^\d{12}$/.test(actual)) return []; // account ids
    return mask(recorded) === mask(actual) ? [] : [`${at}: ${JSON.stringify(actual)} ≠ AWS ${JSON.stringify(recorded)}`];
  }
  if (Array.isArray(recorded)) {
    if (!Array.isArray(actual)) return [`${at}: not a list`];
    if (actual.length !== recorded.length) return [`${at}: ${actual.length} items where AWS has ${recorded.length}`];
    return recorded.flatMap((r, i) => diff(r, actual[i], `${path}[${i}]`));
  }
  if (typeof recorded === 'object' && recorded !== null) {
    if (typeof actual !== 'object' || actual === null) return [`${at}: not a structure`];
    const a = actual as Record<string, unknown>;
    const r = recorded as Record<string, unknown>;
    const ours = Object.keys(a).filter((k) => k !== '$metadata' && a[k] !== undefined);
    const theirs = Object.keys(r).filter((k) => k !== 'ResponseMetadata');
    const out: string[] = [];
    for (const k of theirs) if (!ours.includes(k)) out.push(`${path ? `${path}.` : ''}${k}: missing (AWS has it)`);
    for (const k of ours) {
      if (theirs.includes(k)) continue;
      if (NEWER_MEMBERS.has(k) && typeof a[k] === 'string') continue;
      out.push(`${path ? `${path}.` : ''}${k}: present (AWS does not return it)`);
    }
    for (const k of theirs) if (ours.includes(k)) out.push(...diff(r[k], a[k], path ? `${path}.${k}` : k));
    return out;
  }
  return recorded === actual ? [] : [`${at}: ${JSON.stringify(actual)} ≠ AWS ${JSON.stringify(recorded)}`];
}
