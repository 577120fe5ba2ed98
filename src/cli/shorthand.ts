// The AWS CLI's shorthand syntax for structures, maps and lists of structures, with its grammar
// and its quirks (awscli/shorthand.py is the reference; these are its rules, not its code):
//
//   TagKey=purpose,TagValue=test         → {"TagKey": "purpose", "TagValue": "test"}
//   Key=a,b,c,Other=d                    → {"Key": ["a", "b", "c"], "Other": "d"}
//   Key=[a,b],Nested={X=1,Y='a,b'}       → explicit lists, nested structures, quoted values
//
// - A key is made of ASCII letters, digits and `-_.#/:` (possibly none: `=b` is {"": "b"}).
// - Whitespace may surround `=` and `,`; a bare value loses its trailing whitespace.
// - In a bare value only `\,` is an escape (a comma); every other backslash is kept as typed, so
//   `path=C:\dir` means C:\dir. In a quoted value `\'` (or `\"`) and `\\` are the escapes.
// - A bare value starts with none of `'"[{,=` or whitespace. The first value after `=` may then
//   hold `=`, `[` and `{` but not `]`, `}` or quotes; the values after it in a csv list may hold
//   `]` and `}` but not `=` (a `key=` after a comma starts the next key).
// - Characters beyond U+FFFF are in no bare value.
// - A key given twice at the top level is an error; inside `{…}` the last one wins.
// Values are strings (or lists and objects of strings); params.ts coerces them to the member
// types of the model. Errors carry the AWS CLI's wording, with the input and a caret under the
// place where parsing stopped.

import { setOwn } from '../own-key.js';

export class ShorthandError extends Error {
  override readonly name = 'ShorthandError';
}

export type ShorthandValue = string | ShorthandValue[] | { [key: string]: ShorthandValue };

const KEY_CHAR = /^[A-Za-z0-9\-_.#/:]$/u;
// The characters a bare value may start with, follow with as a first value, and follow with
// after a comma (ranges by code point, BMP only).
const START = String.raw`!#-&(-+\--<>-Z\\-z|-\uffff`;
const FIRST_FOLLOW = String.raw`\s!#-&(-+\--\\^-|~-\uffff`;
const SECOND_FOLLOW = String.raw`\s!#-&(-+\--<>-\uffff`;
const bareValue = (follow: string) => new RegExp(String.raw`^(?:\\,|[${START}])(?:\\,|[${follow}])*`, 'u');
const FIRST_VALUE = { name: 'first', re: bareValue(FIRST_FOLLOW) };
const SECOND_VALUE = { name: 'second', re: bareValue(SECOND_FOLLOW) };
const SINGLE_QUOTED = { name: 'singled quoted', re: /^'(?:\\\\|\\'|[^'])*'/u };
const DOUBLE_QUOTED = { name: 'double quoted', re: /^"(?:\\\\|\\"|[^"])*"/u };
// Python's string.whitespace, which is what separators may be padded with.
const PADDING = ' \t\n\r\v\f';

/** A syntax error: what was expected, what was found, where (in code points). */
class SyntaxFailure extends ShorthandError {
  constructor(
    readonly chars: readonly string[],
    expected: string,
    actual: string,
    readonly at: number,
  ) {
    super(`Expected: '${expected}', received: '${actual}' for input:\n${location(chars, at)}`);
  }
}

/** The input with a caret under position `at`, as the AWS CLI shows it (per line). */
function location(chars: readonly string[], at: number): string {
  const text = chars.join('');
  const before = chars.slice(0, at).join('');
  const lastNewline = before.lastIndexOf('\n');
  const column = lastNewline < 0 ? at : Array.from(before.slice(lastNewline + 1)).length;
  const after = chars.slice(at).join('');
  const nextNewline = after.indexOf('\n');
  const [shown, rest] = nextNewline < 0 ? [text, ''] : [before + after.slice(0, nextNewline), after.slice(nextNewline)];
  return `${shown}\n${' '.repeat(column)}^${rest}`;
}

/**
 * What `key@=file://path` makes of its value (the AWS CLI's "file-optional-values"): the file's
 * text for file:// (the caller reads it, with its errors), the value itself otherwise.
 */
export type ParamFileLoader = (value: string) => string;

class Parser {
  private i = 0;
  private readonly chars: string[];
  constructor(
    text: string,
    private readonly loadFile: ParamFileLoader = (v) => v,
  ) {
    this.chars = Array.from(text); // positions count code points, as the AWS CLI's do
  }

  parse(): Record<string, ShorthandValue> {
    const out: Record<string, ShorthandValue> = {};
    let [key, value] = this.keyval();
    setOwn(out, key, value);
    let last = this.i;
    while (!this.atEnd()) {
      this.expect(',', true);
      [key, value] = this.keyval();
      if (Object.hasOwn(out, key))
        throw new ShorthandError(
          `Second instance of key "${key}" encountered for input:\n${location(this.chars, last + 1)}\nThis is often because there is a preceding "," instead of a space.`,
        );
      setOwn(out, key, value);
      last = this.i;
    }
    return out;
  }

  private atEnd(): boolean {
    return this.i >= this.chars.length;
  }

  private current(): string | undefined {
    return this.chars[this.i];
  }

  private skipPadding(): void {
    while (!this.atEnd() && PADDING.includes(this.current()!)) this.i++;
  }

  private expect(c: string, padded = false): void {
    if (padded) this.skipPadding();
    if (this.atEnd()) throw new SyntaxFailure(this.chars, c, 'EOF', this.i);
    if (this.current() !== c) throw new SyntaxFailure(this.chars, c, this.current()!, this.i);
    this.i++;
    if (padded) this.skipPadding();
  }

  /** The longest match of `re` here, consumed; undefined when there is none. */
  private match(re: RegExp): string | undefined {
    const m = re.exec(this.chars.slice(this.i).join(''));
    if (!m) return undefined;
    this.i += Array.from(m[0]).length;
    return m[0];
  }

  private mustMatch(pattern: { name: string; re: RegExp }): string {
    const m = this.match(pattern.re);
    if (m === undefined) throw new SyntaxFailure(this.chars, `<${pattern.name}>`, '<none>', this.i);
    return m;
  }

  // keyval = key "=" [values] / key "@=" [file-optional-values]
  private keyval(): [string, ShorthandValue] {
    const key = this.key();
    this.skipPadding();
    if (this.current() === '@' && this.chars[this.i + 1] === '=') {
      this.i += 2;
      this.skipPadding();
      const value = this.values();
      return [key, typeof value === 'string' ? this.loadFile(value) : value];
    }
    this.expect('=', true);
    return [key, this.values()];
  }

  private key(): string {
    const start = this.i;
    while (!this.atEnd() && KEY_CHAR.test(this.current()!)) this.i++;
    return this.chars.slice(start, this.i).join('');
  }

  private values(): ShorthandValue {
    if (this.atEnd()) return '';
    if (this.current() === '[') return this.list();
    if (this.current() === '{') return this.hash();
    return this.csv();
  }

  /** `a` is "a"; `a,b,c` is a list, up to a `key=` after a comma (which is the next key's). */
  private csv(): ShorthandValue {
    const first = this.firstValue();
    this.skipPadding();
    if (this.atEnd() || this.current() !== ',') return first;
    this.expect(',', true);
    const list: string[] = [first];
    for (;;) {
      try {
        const v = this.secondValue();
        this.skipPadding();
        if (this.atEnd()) {
          list.push(v);
          break;
        }
        this.expect(',', true);
        list.push(v);
      } catch (err) {
        if (!(err instanceof SyntaxFailure) || this.atEnd()) throw err;
        // `k=a,b,c=d`: what followed the comma was the next key; back to that comma.
        while (this.i >= 0 && this.chars[this.i] !== ',') this.i--;
        break;
      }
    }
    return list.length === 1 ? first : list;
  }

  private firstValue(): string {
    if (this.current() === "'") return this.quoted(SINGLE_QUOTED, "'");
    if (this.current() === '"') return this.quoted(DOUBLE_QUOTED, '"');
    const m = this.match(FIRST_VALUE.re);
    return m === undefined ? '' : unescapeBare(m);
  }

  private secondValue(): string {
    if (this.current() === "'") return this.quoted(SINGLE_QUOTED, "'");
    if (this.current() === '"') return this.quoted(DOUBLE_QUOTED, '"');
    return unescapeBare(this.mustMatch(SECOND_VALUE));
  }

  private quoted(pattern: { name: string; re: RegExp }, q: string): string {
    return this.mustMatch(pattern).slice(1, -1).split(`\\${q}`).join(q).split('\\\\').join('\\');
  }

  /** `[a, b, {…}, […]]` */
  private list(): ShorthandValue[] {
    this.expect('[', true);
    const out: ShorthandValue[] = [];
    while (this.current() !== ']') {
      out.push(this.explicitValue());
      this.skipPadding();
      if (this.current() !== ']') {
        this.expect(',');
        this.skipPadding();
      }
    }
    this.expect(']');
    return out;
  }

  /** `{k=v, k2=[…], k3={…}}` */
  private hash(): Record<string, ShorthandValue> {
    this.expect('{', true);
    const out: Record<string, ShorthandValue> = {};
    while (this.current() !== '}') {
      const key = this.key();
      this.expect('=', true);
      const v = this.explicitValue();
      this.skipPadding();
      if (this.current() !== '}') {
        this.expect(',');
        this.skipPadding();
      }
      setOwn(out, key, v);
    }
    this.expect('}');
    return out;
  }

  private explicitValue(): ShorthandValue {
    if (this.current() === '[') return this.list();
    if (this.current() === '{') return this.hash();
    return this.firstValue();
  }
}

/** A bare value as meant: `\,` is a comma (no other escape), trailing whitespace dropped. */
function unescapeBare(raw: string): string {
  return raw.split('\\,').join(',').trimEnd();
}

/** Parses one shorthand argument (`k=v,k2=v2`, `k@=file://path`). */
export function parseShorthand(text: string, loadFile?: ParamFileLoader): Record<string, ShorthandValue> {
  return new Parser(text, loadFile).parse();
}
