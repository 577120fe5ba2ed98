// Fixed-width text tables, printed row by row as results arrive.
export function fmtNum(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '-';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(digits);
}

export function fmtRatio(r) {
  if (r === undefined || r === null || Number.isNaN(r)) return '-';
  return `${r.toFixed(2)}×`;
}

export class Table {
  constructor(columns, out = (s) => process.stdout.write(s)) {
    this.columns = columns; // [{ title, width, align }]
    this.out = out;
  }
  line(cells) {
    const parts = this.columns.map((c, i) => {
      const v = String(cells[i] ?? '');
      const w = c.width;
      if (v.length > w) return v.slice(0, w - 1) + '…';
      return c.align === 'right' ? v.padStart(w) : v.padEnd(w);
    });
    this.out(parts.join('  ').trimEnd() + '\n');
  }
  header() {
    this.line(this.columns.map((c) => c.title));
    this.out(this.columns.map((c) => '-'.repeat(c.width)).join('  ') + '\n');
  }
  /** A row whose tail (from column `from`) is one free-text cell. */
  span(cells, from, text) {
    const head = this.columns.slice(0, from).map((c, i) => {
      const v = String(cells[i] ?? '');
      return c.align === 'right' ? v.padStart(c.width) : v.padEnd(c.width);
    });
    this.out([...head, text].join('  ') + '\n');
  }
}
