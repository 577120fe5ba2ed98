// JMESPath for --query: jmespath.js, with max_by and min_by mended. Both start from -Infinity
// (Infinity) and keep an item only when its key compares greater (smaller), which a string key
// never does, so `max_by(Rotations, &RotationDate)` gave null where the AWS CLI's JMESPath gives
// the latest rotation (the spec takes number or string keys, and this CLI prints dates as
// strings). jmespath.js 0.16.0 is the last release and exposes no function table, so its source
// is loaded with the first item always kept; a test fails should the source ever change shape.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import original from 'jmespath';

export interface Jmespath {
  search(data: unknown, expression: string): unknown;
  compile(expression: string): unknown;
}

function mended(): Jmespath | undefined {
  const require = createRequire(import.meta.url);
  let source = readFileSync(require.resolve('jmespath'), 'utf8');
  const fixes: [string, string][] = [
    ['if (current > maxNumber) {', 'if (i === 0 || current > maxNumber) {'],
    ['if (current < minNumber) {', 'if (i === 0 || current < minNumber) {'],
  ];
  for (const [from, to] of fixes) {
    if (source.split(from).length !== 2) return undefined;
    source = source.replace(from, to);
  }
  const exports = {} as Jmespath;
  // The module is UMD: given `exports`, it fills it and touches nothing else.
  new Function('exports', source)(exports);
  return exports;
}

export const jmespath: Jmespath = mended() ?? (original as unknown as Jmespath);
