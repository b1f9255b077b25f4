// A configuration diff: tenant, layer, setting, and `before → after` ("unset": this layer does not set it, so
// the next one down applies). Used for a version's diff, the rollback and import dry runs, and audit entries,
// so a person reads every change the same way. `compact` is one line per setting, for the audit table.
import { diffRows } from '../logic/config-versions.js';
import type { TenantChange } from '../logic/config-versions.js';

export function DiffTable({
  changes,
  testId,
  compact = false,
}: {
  changes: readonly TenantChange[];
  testId: string;
  compact?: boolean;
}) {
  const rows = diffRows(changes);
  if (rows.length === 0)
    return (
      <p className="state empty" data-testid={testId}>
        No change.
      </p>
    );
  if (compact)
    return (
      <ul className="diff compact" data-testid={testId}>
        {rows.map((r) => (
          <li key={`${r.tenant}/${r.layer}/${r.setting}`} data-setting={`${r.tenant}/${r.setting}`}>
            {r.tenant} · {r.layer} · <code>{r.setting}</code> {r.before} → <b>{r.after}</b>
          </li>
        ))}
      </ul>
    );
  const unset = rows.some((r) => r.before === 'unset' || r.after === 'unset');
  return (
    <>
      <div className="table-wrap">
        <table className="config-diff" data-testid={testId}>
          <thead>
            <tr>
              <th>Tenant</th>
              <th>Layer</th>
              <th>Setting</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.tenant}/${r.layer}/${r.setting}`} data-setting={`${r.tenant}/${r.setting}`}>
                <td>{r.tenant}</td>
                <td>{r.layer}</td>
                <td>
                  <code>{r.setting}</code>
                </td>
                <td>
                  {r.before} → <b>{r.after}</b>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {unset && (
        <p className="hint">
          unset: that layer does not set it, so the layer below applies (runtime → Mimir&apos;s overrides →
          default).
        </p>
      )}
    </>
  );
}
