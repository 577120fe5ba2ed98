// A timestamp parameter's text (`--valid-to 2027-06-01T10:00:00`), read as the AWS CLI reads it:
// a date or date-time that names no time zone is UTC (botocore parses with UTC as the default
// zone), where JavaScript's Date.parse would take the machine's local time for all but a bare
// date. ISO 8601 in its extended and basic forms, and what Date.parse reads otherwise ("Jun 1
// 2027 10:00 PST"). NaN when it is none of these.

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
/** The end of a date-time that names its zone: Z, UTC, GMT, an abbreviation (PST) or an offset. */
const NAMED_ZONE = /(?:\b(?:Z|UTC|GMT|[A-Z]{3,4})|[+-]\d{2}:?\d{2})\s*(?:\([^)]*\))?\s*$/i;

/** +05, +0500 and +05:00 as +05:00, which Date.parse reads in an ISO string. */
function offset(zone: string | undefined): string {
  if (zone === undefined || /^z$/i.test(zone)) return 'Z';
  const m = /^([+-]\d{2}):?(\d{2})?$/.exec(zone)!;
  return `${m[1]}:${m[2] ?? '00'}`;
}

/** Milliseconds since the epoch, or NaN. */
export function cliTimestampMs(text: string): number {
  const t = text.trim();
  const basic = BASIC.exec(t);
  if (basic) {
    const [, y, mo, d, h, mi, s, frac, zone] = basic;
    return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}${offset(zone)}`);
  }
  const iso = ISO.exec(t);
  if (iso) {
    const [, date, time, zone] = iso;
    return Date.parse(`${date}T${time ?? '00:00'}${offset(zone)}`);
  }
  return NAMED_ZONE.test(t) ? Date.parse(t) : Date.parse(`${t} UTC`);
}
