// `--generate-cli-skeleton [input]`: the operation's input as a JSON template for
// `--cli-input-json`, as the AWS CLI v2 prints it (botocore's ArgumentGenerator): every member in
// the model's order, a string as "" (an enum as its first value), a number as 0, a boolean as
// true, a timestamp as 1970-01-01T00:00:00, a blob as null, a list as one element, a map as
// {"KeyName": value}, and a structure met again inside itself as {}.
import { shapes } from '../model/service-model.js';
import { UnknownOptionsError, UsageError } from './args.js';

function skeletonOf(shapeName: string, stack: string[]): unknown {
  const s = shapes[shapeName];
  if (!s) return null;
  stack.push(shapeName);
  try {
    switch (s.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        if (stack.filter((n) => n === shapeName).length > 1) return out;
        for (const [name, m] of Object.entries(s.members ?? {})) out[name] = skeletonOf(m.shape, stack);
        return out;
      }
      case 'list':
        return [skeletonOf(s.member!, stack)];
      case 'map':
        return { KeyName: skeletonOf(s.value!, stack) };
      case 'string':
        return s.enum?.[0] ?? '';
      case 'integer':
      case 'long':
        return 0;
      case 'boolean':
        return true;
      case 'timestamp':
        return '1970-01-01T00:00:00';
      default:
        return null; // a blob: botocore's generator has no value for it
    }
  } finally {
    stack.pop();
  }
}

/**
 * The printed skeleton for `--generate-cli-skeleton` given `values` (none: input). The AWS CLI's
 * `output` (a stubbed call) and `yaml-input` are not offered.
 */
export function generateSkeleton(inputShape: string | undefined, values: readonly string[]): string {
  const kind = values[0] ?? 'input';
  if (values.length > 1) throw new UnknownOptionsError(values.slice(1));
  if (kind === 'output' || kind === 'yaml-input') throw new UsageError(`argument --generate-cli-skeleton: ekms offers only 'input', not '${kind}'`);
  if (kind !== 'input') throw new UsageError(`argument --generate-cli-skeleton: Found invalid choice '${kind}'; valid choices: input, output, yaml-input`);
  return `${JSON.stringify(inputShape ? skeletonOf(inputShape, []) : {}, null, 4)}\n`;
}
