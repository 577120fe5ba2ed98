// The checks the AWS CLI makes before it sends a request (botocore's parameter validation): the
// minimum length of strings and lists and the minimum of numbers, from the service model; maxima,
// patterns and enums are the service's to refuse. Failing them is exit 252 with botocore's report
// (`Parameter validation failed:` and one line per problem), and nothing is sent.
import { shapes } from '../model/service-model.js';
import { ParamError } from './params.js';

function check(shapeName: string | undefined, value: unknown, name: string, problems: string[]): void {
  const s = shapeName === undefined ? undefined : shapes[shapeName];
  if (!s || value === undefined || value === null) return;
  switch (s.type) {
    case 'string':
      // Python's len(): code points, not UTF-16 units.
      if (typeof value === 'string' && s.min !== undefined && [...value].length < s.min)
        problems.push(`Invalid length for parameter ${name}, value: ${[...value].length}, valid min length: ${s.min}`);
      return;
    case 'integer':
    case 'long':
      if (typeof value === 'number' && s.min !== undefined && value < s.min) problems.push(`Invalid value for parameter ${name}, value: ${value}, valid min value: ${s.min}`);
      return;
    case 'list':
      if (!Array.isArray(value)) return;
      if (s.min !== undefined && value.length < s.min) problems.push(`Invalid length for parameter ${name}, value: ${value.length}, valid min length: ${s.min}`);
      value.forEach((item, i) => check(s.member, item, `${name}[${i}]`, problems));
      return;
    case 'map':
      if (typeof value !== 'object') return;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        check(s.key, k, `${name} (key: ${k})`, problems);
        check(s.value, v, `${name}.${k}`, problems);
      }
      return;
    case 'structure':
      if (typeof value !== 'object') return;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) check(s.members?.[k]?.shape, v, name ? `${name}.${k}` : k, problems);
      return;
    default:
  }
}

/** Refuses (ParamError) an input that botocore would not send. */
export function checkParams(inputShape: string | undefined, input: Record<string, unknown>): void {
  const problems: string[] = [];
  check(inputShape, input, '', problems);
  if (problems.length > 0) throw new ParamError(`Parameter validation failed:\n${problems.join('\n')}`);
}
