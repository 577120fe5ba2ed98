// `--output table` as the AWS CLI v2 prints it (awscli/formatter.py's TableFormatter over
// awscli/table.py's MultiTable), without its colors. The operation's name is the title. A
// mapping's scalar members become one row under a header (or a single `key | value` row). Its
// lists and mappings become nested sections, one `|` deeper on each side. A list of mappings
// becomes a header and a row per item. Columns are sized to their widest cell plus 4, then
// scaled to the widest section. When that is wider than the terminal (80 columns when the
// output is not one), every one-row section is turned into `key | value` rows. Widths count
// East Asian wide, fullwidth and ambiguous characters as two columns, as Python's
// unicodedata says. The expected outputs in test/cli/fixtures/table came from Debian's AWS CLI
// v2 against `ekms serve`.
import { wideOrAmbiguous } from './east-asian-width.generated.js';
import { pythonStr } from './python-str.js';

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = wideOrAmbiguous.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < wideOrAmbiguous[mid * 2]!) hi = mid - 1;
    else if (cp > wideOrAmbiguous[mid * 2 + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** awscli's get_text_length: columns, two for each wide, fullwidth or ambiguous character. */
export function textLength(text: string): number {
  let n = 0;
  for (const c of text) n += isWide(c.codePointAt(0)!) ? 2 : 1;
  return n;
}

const spaces = (n: number): string => ' '.repeat(Math.max(0, n)); // Python's ' ' * n is '' for n < 0

/** Python's truth value of a response value (an empty one prints nothing). */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

class Section {
  title = '';
  headers: string[] = [];
  rows: string[][] = [];
  indentLevel = 0;
  private maxWidths: number[] = [];

  addHeader(headers: string[]): void {
    this.updateMaxWidths(headers);
    this.headers = headers;
  }

  addRow(row: unknown[]): void {
    const cells = row.map(pythonStr);
    this.rows.push(cells);
    this.updateMaxWidths(cells);
  }

  private updateMaxWidths(cells: string[]): void {
    if (this.maxWidths.length === 0) this.maxWidths = cells.map(textLength);
    else cells.forEach((c, i) => (this.maxWidths[i] = Math.max(textLength(c), this.maxWidths[i] ?? 0)));
  }

  columnWidths(padding: number, maxWidth?: number): number[] {
    const unscaled = this.maxWidths.map((w) => w + padding);
    if (maxWidth === undefined || unscaled.length === 0) return unscaled;
    const factor = maxWidth / unscaled.reduce((a, b) => a + b, 0);
    const scaled = unscaled.map((w) => roundHalfEven(factor * w));
    let offBy = scaled.reduce((a, b) => a + b, 0) - maxWidth;
    while (offBy !== 0) {
      const order = scaled.map((_, i) => i);
      if (offBy < 0) order.reverse();
      for (const i of order) {
        if (offBy > 0) {
          scaled[i]! -= 1;
          offBy -= 1;
        } else {
          scaled[i]! += 1;
          offBy += 1;
        }
        if (offBy === 0) break;
      }
    }
    return scaled;
  }

  totalWidth(padding: number, outerPadding: number): number {
    const total = this.columnWidths(0).reduce((sum, w) => sum + w + padding, 0) + 2 + 2 * outerPadding;
    return Math.max(textLength(this.title) + 2 + 2 * outerPadding, total);
  }
}

function centerText(text: string, length: number, left: string, right: string): string {
  const n = textLength(text);
  const start = Math.floor(length / 2) - Math.floor(n / 2) - 1;
  const soFar = left.length + start + n;
  return `${left}${spaces(start)}${text}${spaces(length - right.length - soFar)}${right}`;
}

function alignLeft(text: string, length: number, left: string, right: string): string {
  const n = textLength(text);
  const padding = length - (n + 2 + left.length + right.length) >= 0 ? 2 : 0;
  return `${left}${spaces(padding)}${text}${spaces(length - (left.length + padding + n) - right.length)}${right}`;
}

/** The sections of a response, as awscli's TableFormatter._build_table makes them. */
class Builder {
  readonly sections: Section[] = [];
  private current: Section | undefined;

  private newSection(title: string, indentLevel: number): void {
    this.current = new Section();
    this.current.title = title;
    this.current.indentLevel = indentLevel;
    this.sections.push(this.current);
  }

  private get section(): Section {
    // awscli's MultiTable starts without a section; a row before any title would fail there too.
    if (!this.current) this.newSection('', 0);
    return this.current!;
  }

  build(title: string | undefined, value: unknown, indentLevel = 0): boolean {
    if (!truthy(value)) return false;
    if (title !== undefined) this.newSection(title, indentLevel);
    if (Array.isArray(value)) {
      if (value[0] !== null && typeof value[0] === 'object' && !Array.isArray(value[0])) this.fromList(value as Record<string, unknown>[], indentLevel, title);
      else
        for (const item of value) {
          if (isScalar(item)) this.section.addRow([item]);
          else if (Array.isArray(item) && item.every(isScalar)) this.section.addRow(item);
          else this.build(undefined, item);
        }
    } else if (value !== null && typeof value === 'object') {
      this.fromMapping(value as Record<string, unknown>, indentLevel);
    }
    return true;
  }

  private fromMapping(value: Record<string, unknown>, indentLevel: number): void {
    const { headers, more } = groupKeys([value]);
    if (headers.length === 1) this.section.addRow([headers[0], value[headers[0]!]]);
    else if (headers.length > 0) {
      this.section.addHeader(headers);
      this.section.addRow(headers.map((h) => value[h]));
    }
    for (const k of more) this.build(k, value[k], indentLevel + 1);
  }

  private fromList(items: Record<string, unknown>[], indentLevel: number, title: string | undefined): void {
    const { headers, more } = groupKeys(items);
    this.section.addHeader(headers);
    items.forEach((item, i) => {
      if (i > 0 && more.length > 0) {
        this.newSection(title ?? '', indentLevel);
        this.section.addHeader(headers);
      }
      this.section.addRow(headers.map((h) => (h in item ? item[h] : '')));
      for (const k of more) if (k in item) this.build(k, item[k], indentLevel + 1);
    });
  }
}

/** The scalar members of the mappings (the headers) and the others, each sorted. */
function groupKeys(items: Record<string, unknown>[]): { headers: string[]; more: string[] } {
  const headers = new Set<string>();
  const more = new Set<string>();
  for (const item of items) for (const [k, v] of Object.entries(item)) if (v !== undefined) (isScalar(v) ? headers : more).add(k);
  const sorted = (s: Set<string>) => [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { headers: sorted(headers), more: sorted(more) };
}

/** One section turned `key | value` rows, as awscli's convert_to_vertical_table does. */
function vertical(s: Section): Section {
  if (s.rows.length !== 1 || s.headers.length === 0) return s;
  const v = new Section();
  v.title = s.title;
  v.indentLevel = s.indentLevel;
  s.headers.forEach((h, i) => v.addRow([h, s.rows[0]![i]]));
  return v;
}

function lineBreak(widths: number[]): string {
  return `${widths.map((w, i) => (i === 0 ? `+${'-'.repeat(Math.max(0, w - 2))}+` : `${'-'.repeat(Math.max(0, w - 1))}+`)).join('')}\n`;
}

function renderSection(s: Section, tableWidth: number): string {
  const edge = '|'.repeat(s.indentLevel);
  // awscli's IndentedStream: each write gets the edges, the right one before its line break.
  const write = (text: string) => (text.endsWith('\n') ? `${edge}${text.slice(0, -1)}${edge}\n` : `${edge}${text}`);
  const width = tableWidth - s.indentLevel * 2;
  let out = '';
  if (s.title) {
    out += write(`${centerText(s.title, width, '|', '|')}\n`);
    if (s.headers.length === 0 && s.rows.length === 0) out += write(`+${'-'.repeat(Math.max(0, width - 2))}+\n`);
  }
  const widths = s.columnWidths(4, width);
  if (s.headers.length > 0) {
    out += write(lineBreak(widths));
    out += write(`${s.headers.map((h, i) => centerText(h, widths[i]!, i === 0 ? '|' : '', '|')).join('')}\n`);
  }
  if (s.rows.length > 0) {
    if (widths.length === 0) return out;
    out += write(lineBreak(widths));
    for (const row of s.rows) out += write(`${row.map((c, i) => alignLeft(c, widths[i]!, i === 0 ? '|' : '', '|')).join('')}\n`);
    out += write(lineBreak(widths));
  }
  return out;
}

/** `value` (the response, after any --query) as the AWS CLI's table; '' when it is empty. */
export function renderTable(operation: string, value: unknown, terminalWidth = 80): string {
  const builder = new Builder();
  if (!builder.build(operation, value)) return '';
  let sections = builder.sections;
  const widest = (all: Section[]) => Math.max(...all.map((s) => s.totalWidth(4, s.indentLevel)));
  let width = widest(sections);
  if (width > terminalWidth) {
    sections = sections.map(vertical);
    width = widest(sections);
  }
  return `${'-'.repeat(width)}\n${sections.map((s) => renderSection(s, width)).join('')}`;
}
