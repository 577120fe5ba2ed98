// Conformance with real AWS KMS responses (../shared/reference/aws-kms-recorded-responses.json):
// each recorded case is replayed through @aws-sdk/client-kms against the endpoint and compared
// (compare.ts). Cases whose recording is empty, whose scenario needs an operation not in the
// operation table yet, or that no scenario covers are reported as not applicable, with the
// reason; every other case must match.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { KMS } from '@aws-sdk/client-kms';
import t from 'tap';

import { startServer } from '../../src/endpoint/index.js';
import { operationTable } from '../../src/index.js';
import { backends } from '../helpers/backends.js';
import { referenceDir } from '../cli/reference.js';
import { harness, type Outcome } from './harness.js';
import { scenarios, unsupported } from './scenarios.js';

const recordings = JSON.parse(readFileSync(join(referenceDir, 'aws-kms-recorded-responses.json'), 'utf8')) as Record<
  string,
  { 'recorded-content'?: Record<string, unknown> }
>;

interface Case {
  name: string;
  base: string;
  params: string[];
  recorded: Record<string, unknown>;
}

const cases: Case[] = Object.entries(recordings).map(([id, v]) => {
  const name = id.split('::').pop()!;
  const m = /^([^[]+)(?:\[(.*)\])?$/.exec(name)!;
  return { name, base: m[1]!, params: m[2] ? m[2].split('-') : [], recorded: v['recorded-content'] ?? {} };
});

/** Why a case does not apply, or undefined when it runs. */
function notApplicable(c: Case): string | undefined {
  if (Object.keys(c.recorded).length === 0) return 'empty recording';
  if (unsupported[c.base]) return unsupported[c.base];
  const s = scenarios[c.base];
  if (!s) return 'no scenario written for this case';
  const missing = s.uses.filter((op) => !operationTable.has(op));
  if (missing.length) return `${missing.join(', ')} not implemented`;
  return undefined;
}

for (const backend of backends()) {
  t.test(`recorded AWS responses [${backend.name}]`, async (tt) => {
    const kms = await backend.open();
    const server = await startServer(kms, { port: 0 });
    const client = new KMS({ region: 'us-east-1', credentials: { accessKeyId: 'conformance', secretAccessKey: 'conformance' }, endpoint: server.url, maxAttempts: 1 });
    tt.teardown(async () => {
      client.destroy();
      await server.close();
      await kms.close();
    });

    let passed = 0;
    const skipped: string[] = [];
    const failed: string[] = [];
    for (const c of cases) {
      const reason = notApplicable(c);
      if (reason) {
        skipped.push(`${c.name}: not applicable: ${reason}`);
        continue;
      }
      await tt.test(c.name, async (ct) => {
        const outcome: Outcome = { problems: [], checked: 0 };
        try {
          await scenarios[c.base]!.run(harness(client, c.params, c.recorded, outcome));
        } catch (err) {
          const e = err as Error;
          outcome.problems.push(`setup call failed: ${e.name}: ${e.message}`);
        }
        ct.ok(outcome.checked > 0, 'at least one recorded response compared');
        ct.same(outcome.problems, [], 'matches AWS');
        if (outcome.checked > 0 && outcome.problems.length === 0) passed++;
        else failed.push(c.name);
      });
    }
    const applicable = cases.length - skipped.length;
    tt.comment(`conformance [${backend.name}]: ${passed} of ${applicable} applicable cases pass; ${skipped.length} of ${cases.length} not applicable`);
    for (const s of skipped) tt.comment(`  ${s}`);
    for (const f of failed) tt.comment(`  FAILED ${f}`);
  });
}
