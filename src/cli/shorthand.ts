// The AWS CLI's shorthand syntax for structures, maps and lists of structures:
//
//   TagKey=purpose,TagValue=test         → {"TagKey": "purpose", "TagValue": "test"}
//   Key=a,b,c,Other=d                    → {"Key": ["a", "b", "c"], "Other": "d"}
//   Key=[a,b],Nested={X=1,Y='a,b'}       → explicit lists, nested structures, quoted values
//
// Values are strings (or lists and objects of strings); params.ts coerces them to the member
// types of the model. Backslash escapes the next character in an unquoted value.

export class ShorthandError extends Error {
  override readonly name = 'ShorthandError';
}

export type ShorthandValue = string | ShorthandValue[] | { [key: string]: ShorthandValue };

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Record<string, ShorthandValue> {
    const out = this.keyvals(undefined);
    if (this.i < this.s.length) this.fail(`unexpected '${this.s[this.i]}'`);
    return out;
  }

  private fail(why: string): never {
    throw new ShorthandError(`Error parsing shorthand syntax at position ${this.i}: ${why}. Expected: key=value[,key2=value2...]`);
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  /** keyval *("," keyval), up to `end` (a closing brace) or the end of input. */
  private keyvals(end: string | undefined): Record<string, ShorthandValue> {
    const out: Record<string, ShorthandValue> = {};
    for (;;) {
      const key = this.key();
      if (this.peek() !== '=') this.fail(`expected '=' after key '${key}'`);
      this.i++;
      out[key] = this.values(end);
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      return out;
    }
  }

  private key(): string {
    const m = /^[^=,{}[\]\s'"]+/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a key');
    this.i += m[0].length;
    return m[0].trim();
  }

  /** A value, or a csv list of values (`a,b,c`) that runs until the next `key=`. */
  private values(end: string | undefined): ShorthandValue {
    const first = this.value(end);
    if (typeof first !== 'string') return first;
    const list: string[] = [first];
    while (this.peek() === ',' && !this.nextIsKey()) {
      this.i++;
      const v = this.value(end);
      if (typeof v !== 'string') this.fail('a csv list takes plain values only');
      list.push(v);
    }
    return list.length === 1 ? first : list;
  }

  /** After a comma: does `key=` follow? */
  private nextIsKey(): boolean {
    return /^,\s*[^=,{}[\]\s'"]+=/.test(this.s.slice(this.i));
  }

  private value(end: string | undefined): ShorthandValue {
    const c = this.peek();
    if (c === '[') return this.list();
    if (c === '{') {
      this.i++;
      const obj = this.peek() === '}' ? {} : this.keyvals('}');
      if (this.peek() !== '}') this.fail("expected '}'");
      this.i++;
      return obj;
    }
    if (c === "'" || c === '"') return this.quoted(c);
    return this.bare(end === '}' ? ',}' : ',', false);
  }

  private list(): ShorthandValue[] {
    this.i++; // [
    const out: ShorthandValue[] = [];
    if (this.peek() === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      const c = this.peek();
      if (c === '[') out.push(this.list());
      else if (c === '{') out.push(this.value('}'));
      else if (c === "'" || c === '"') out.push(this.quoted(c));
      else out.push(this.bare(',]', false));
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() !== ']') this.fail("expected ']'");
      this.i++;
      return out;
    }
  }

  private quoted(q: string): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== q) {
      if (this.s[this.i] === '\\' && this.s[this.i + 1] === q) this.i++;
      out += this.s[this.i++];
    }
    if (this.peek() !== q) this.fail('unterminated quoted value');
    this.i++;
    return out;
  }

  private bare(stops: string, _inList: boolean): string {
    let out = '';
    while (this.i < this.s.length && !stops.includes(this.s[this.i]!)) {
      if (this.s[this.i] === '\\' && this.i + 1 < this.s.length) this.i++;
      out += this.s[this.i++];
    }
    return out.trim();
  }
}

/** Parses one shorthand argument (`k=v,k2=v2`). */
export function parseShorthand(text: string): Record<string, ShorthandValue> {
  return new Parser(text).parse();
}

/** Whether a string looks like shorthand (`key=…`) rather than a plain value. */
export function looksLikeShorthand(text: string): boolean {
  return /^\s*[^=,{}[\]\s'"]+=/.test(text);
}
