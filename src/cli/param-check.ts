// The checks the AWS CLI makes before it sends a request (botocore's parameter validation): the
// JSON type of each value, the required and unknown members of structures, the minimum length of
// strings and lists and the minimum of numbers, from the service model; maxima, patterns and
// enums are the service's to refuse. Failing them is exit 252 with botocore's report
// (`Parameter validation failed:` and one line per problem), and nothing is sent.
import { shapes } from '../model/service-model.js';
import { ParamError } from './params.js';

// A JSON value as Python sees it (botocore's messages name Python's types and print str()).
function pythonType(v: unknown): string {
  if (typeof v === 'string') return "<class 'str'>";
  if (typeof v === 'boolean') return "<class 'bool'>";
  if (typeof v === 'number') return Number.isInteger(v) ? "<class 'int'>" : "<class 'float'>";
  if (Array.isArray(v)) return "<class 'list'>";
  return "<class 'dict'>";
}

function pythonStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  const repr = (x: unknown): string => (typeof x === 'string' ? `'${x}'` : x === null ? 'None' : pythonStr(x));
  if (Array.isArray(v)) return `[${v.map(repr).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `'${k}': ${repr(x)}`).join(', ')}}`;
}

// The Python types botocore accepts for a shape's values, as its messages list them; the test
// for a JSON value of that shape.
const ACCEPTS: Partial<Record<string, [string, (v: unknown) => boolean]>> = {
  string: ["<class 'str'>", (v) => typeof v === 'string'],
  integer: ["<class 'int'>", (v) => typeof v === 'number' && Number.isInteger(v)],
  long: ["<class 'int'>", (v) => typeof v === 'number' && Number.isInteger(v)],
  boolean: ["<class 'bool'>", (v) => typeof v === 'boolean'],
  list: ["<class 'list'>, <class 'tuple'>", Array.isArray],
  map: ["<class 'dict'>", (v) => typeof v === 'object' && !Array.isArray(v)],
  structure: ["<class 'dict'>", (v) => typeof v === 'object' && !Array.isArray(v)],
};

function check(shapeName: string | undefined, value: unknown, name: string, problems: string[]): void {
  const s = shapeName === undefined ? undefined : shapes[shapeName];
  if (!s || value === undefined || value === null) return;
  const accepts = ACCEPTS[s.type];
  if (accepts && !accepts[1](value)) {
    problems.push(`Invalid type for parameter ${name}, value: ${pythonStr(value)}, type: ${pythonType(value)}, valid types: ${accepts[0]}`);
    return;
  }
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
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        check(s.key, k, `${name} (key: ${k})`, problems);
        check(s.value, v, `${name}.${k}`, problems);
      }
      return;
    case 'structure': {
      const given = value as Record<string, unknown>;
      const members = s.members ?? {};
      // The request's own required members are the command line's to ask for (run-operation.ts).
      if (name)
        for (const m of s.required ?? []) if (given[m] === undefined || given[m] === null) problems.push(`Missing required parameter in ${name}: "${m}"`);
      // Then members the shape does not have, then each known one, as botocore reports them.
      const known = Object.keys(given).filter((k) => {
        if (Object.hasOwn(members, k)) return true;
        problems.push(`Unknown parameter in ${name || 'input'}: "${k}", must be one of: ${Object.keys(members).join(', ')}`);
        return false;
      });
      for (const k of known) check(members[k]!.shape, given[k], name ? `${name}.${k}` : k, problems);
      return;
    }
    default:
  }
}

/** Refuses (ParamError) an input that botocore would not send. */
export function checkParams(inputShape: string | undefined, input: Record<string, unknown>): void {
  const problems: string[] = [];
  check(inputShape, input, '', problems);
  if (problems.length > 0) throw new ParamError(`Parameter validation failed:\n${problems.join('\n')}`);
}
