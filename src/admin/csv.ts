// CSV text for the admin API's exports: RFC 4180 quoting, CRLF line ends, and cells a spreadsheet would run as
// a formula (starting with = + - @, a tab or a carriage return) prefixed with ' (OWASP's CSV injection advice).
// Tenant ids are Mimir-checked, but `-` may start one, and a value here must be safe whatever it holds.

export type CsvCell = string | number | boolean | null;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\n\r]/;

export function csvCell(value: CsvCell): string {
  if (value === null) return '';
  // Numbers are written as numbers: a negative amount must stay a number, not become text.
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [columns, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
