// `--output yaml` as the AWS CLI v2 prints it. The AWS CLI dumps the response with ruamel.yaml's
// safe dumper over libyaml's emitter (YAML 1.2 resolution, block style, 80 columns, indent 2,
// mapping keys sorted, sequences in a mapping not indented), so this follows libyaml's emitter
// for the values a response holds: mappings, sequences, strings, numbers, booleans and null.
// What it must get right is the scalar style: a string that would read back as something else
// (`'123'`, `'true'`, `''`, a date) is quoted, one with characters YAML cannot show plainly is
// single- or double-quoted, and long ones fold at 80 columns exactly where libyaml folds them.
// The expected outputs in test/cli/fixtures/yaml came from Debian's AWS CLI v2 against `ekms serve`.

const BEST_WIDTH = 80;
const BEST_INDENT = 2;

// YAML 1.2 implicit resolution as ruamel.yaml does it: a plain scalar matching one of these reads
// back as a boolean, number, null, timestamp, merge key or `=`, so a string like it is quoted.
const IMPLICIT = [
  /^(?:true|True|TRUE|false|False|FALSE)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9])$/,
  /^(?:<<)$/,
  /^(?:=)$/,
];

const readsAsString = (s: string): boolean => !IMPLICIT.some((re) => re.test(s));

const isBreak = (c: string): boolean => c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlankOrEnd = (c: string | undefined): boolean => c === undefined || c === ' ' || c === '\t' || isBreak(c);

/** libyaml's IS_PRINTABLE: what it writes as is (its UTF-8 test leaves out every 4-byte character). */
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
}

/** libyaml's yaml_emitter_analyze_scalar, for the block context (no flow collections are written). */
function analyze(text: string): Analysis {
  const chars = Array.from(text); // code points, as libyaml walks UTF-8 characters
  if (chars.length === 0) return { multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true };
  let blockIndicators = text.startsWith('---') || text.startsWith('...');
  let specialCharacters = false;
  let lineBreaks = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  let precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedByWhitespace) blockIndicators = true;
      if (c === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(c.codePointAt(0)!)) specialCharacters = true;
    if (isBreak(c)) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(c);
  }
  let blockPlainAllowed = !(leadingSpace || leadingBreak || trailingSpace || trailingBreak);
  let singleQuotedAllowed = true;
  if (breakSpace) blockPlainAllowed = singleQuotedAllowed = false;
  if (spaceBreak || specialCharacters) blockPlainAllowed = singleQuotedAllowed = false;
  if (lineBreaks) blockPlainAllowed = false;
  if (blockIndicators) blockPlainAllowed = false;
  return { multiline: lineBreaks, blockPlainAllowed, singleQuotedAllowed };
}

const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\b': 'b',
  '\t': 't',
  '\n': 'n',
  '\v': 'v',
  '\f': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\u0085': 'N',
  '\u00a0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

/** The emitter's state, as libyaml keeps it: where the line is, and whether it ends in blank space. */
class Emitter {
  private out = '';
  private column = 0;
  private indent = -1;
  private whitespace = true;
  private indention = true;

  text(): string {
    return this.out;
  }

  private put(s: string): void {
    this.out += s;
    this.column += s.length;
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(indicator);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  /** Runs `body` with the indentation increased as libyaml's yaml_emitter_increase_indent does. */
  indented(flow: boolean, indentless: boolean, body: () => void): void {
    const saved = this.indent;
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
    body();
    this.indent = saved;
  }

  /** A string scalar; `simpleKey` for a mapping key (never folded). */
  scalar(text: string, simpleKey: boolean): void {
    const a = analyze(text);
    let style: 'plain' | 'single' | 'double' = 'plain';
    if (!a.blockPlainAllowed || (text.length === 0 && simpleKey) || !readsAsString(text)) style = 'single';
    if (style === 'single' && (!a.singleQuotedAllowed || (simpleKey && a.multiline))) style = 'double';
    this.indented(true, false, () => {
      if (style === 'plain') this.writePlain(text, !simpleKey);
      else if (style === 'single') this.writeSingleQuoted(text, !simpleKey);
      else this.writeDoubleQuoted(text, !simpleKey);
    });
  }

  /** A scalar written as is (numbers, booleans, null: they read back as themselves). */
  bare(text: string): void {
    this.indented(true, false, () => this.writePlain(text, false));
  }

  private writePlain(text: string, allowBreaks: boolean): void {
    if (!this.whitespace && text.length > 0) this.put(' ');
    this.writeFolded(text, allowBreaks, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeSingleQuoted(text: string, allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    if (this.writeFolded(text, allowBreaks, true)) this.writeIndent();
    this.writeIndicator("'", false, false, false);
  }

  /**
   * The text of a plain or single-quoted scalar: a single space past the width becomes a line
   * break (in quotes, never the first or last character), line breaks are kept, and quotes are
   * doubled inside single quotes. Returns whether the text ended in line breaks.
   */
  private writeFolded(text: string, allowBreaks: boolean, quoted: boolean): boolean {
    const chars = Array.from(text);
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === ' ') {
        const inside = !quoted || (i !== 0 && i !== chars.length - 1);
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && inside && chars[i + 1] !== ' ') this.writeIndent();
        else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.put(quoted && c === "'" ? "''" : c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    return breaks;
  }

  private writeDoubleQuoted(text: string, allowBreaks: boolean): void {
    this.writeIndicator('"', true, false, false);
    const chars = Array.from(text);
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const cp = c.codePointAt(0)!;
      if (!isPrintable(cp) || isBreak(c) || c === '"' || c === '\\') {
        const known = ESCAPES[c];
        if (known !== undefined) this.put(`\\${known}`);
        else if (cp <= 0xff) this.put(`\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`);
        else if (cp <= 0xffff) this.put(`\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`);
        else this.put(`\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`);
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
  }

  /** A line break inside a scalar: '\n' as a newline, the others written as themselves. */
  private writeBreak(c: string): void {
    if (c === '\n') this.putBreak();
    else {
      this.out += c;
      this.column = 0;
    }
  }

  node(value: unknown, inMapping: boolean, simpleKey = false): void {
    if (value === null || value === undefined) return this.bare('null');
    if (typeof value === 'boolean') return this.bare(value ? 'true' : 'false');
    if (typeof value === 'number') return this.bare(Number.isInteger(value) ? String(value) : JSON.stringify(value));
    if (typeof value === 'string') return this.scalar(value, simpleKey);
    if (Array.isArray(value)) {
      if (value.length === 0) return this.emptyFlow('[', ']');
      // A sequence that is a mapping's value is not indented (libyaml: indentless in a mapping
      // context unless the line so far is only indentation).
      return this.indented(false, inMapping && !this.indention, () => {
        for (const item of value) {
          this.writeIndent();
          this.writeIndicator('-', true, false, true);
          this.node(item, false);
        }
      });
    }
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return this.emptyFlow('{', '}');
    this.indented(false, false, () => {
      for (const [k, v] of entries) {
        this.writeIndent();
        this.node(k, true, true);
        this.writeIndicator(':', false, false, false);
        this.node(v, true);
      }
    });
  }

  private emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true, false);
    this.writeIndicator(close, false, false, false);
  }

  end(): void {
    // The document's end: libyaml finishes the last line.
    if (this.column > 0 || !this.whitespace) this.putBreak();
  }
}

/** `value` as one YAML document, as the AWS CLI's YAML dumper writes a mapping or sequence. */
export function yamlDocument(value: object): string {
  const e = new Emitter();
  e.node(value, false);
  e.end();
  return e.text();
}
