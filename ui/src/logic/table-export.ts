// Turns table rows into CSV (RFC 4180 quoting) or JSON text for the Tenants page's export buttons.
// Cells that a spreadsheet would run as a formula are prefixed with ' so an export is safe to open.

export type Cell = string | number | boolean | null;

function csvCell(value: Cell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [columns, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function toJson(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return JSON.stringify(
    rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]))),
    null,
    2,
  );
}
