// Penalty blocks: every identity a policy's penalty has blocked, with the policy, why, the level on its
// ladder, and when it started and ends. Operators and admins can lift a block (with a reason, audited);
// viewers see no button, since the API would refuse them.
import { useState } from 'react';
import { ErrorBox, Empty, Loading, OutcomeLine } from '../components/states.js';
import type { Outcome } from '../components/states.js';
import { remainingText } from '../logic/block-time.js';
import { formatTime } from '../logic/format.js';
import { canEdit, usePoll, useSession } from '../session.js';

export interface PenaltyBlock {
  id: string;
  policy: string;
  scope: string | null;
  identity: string;
  level: number;
  reason: string;
  started_at: string;
  ends_at: string;
  remaining_seconds: number;
}

export function BlocksPage() {
  const { api, role } = useSession();
  const { data, error, reload } = usePoll<{ penalties: boolean; blocks: PenaltyBlock[] }>(
    '/api/blocks',
    5000,
  );
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<Outcome | null>(null);
  const editor = canEdit(role);

  const lift = (b: PenaltyBlock) => {
    setBusy(b.id);
    setMessage(null);
    const body = reason.trim() ? { reason: reason.trim() } : undefined;
    api.delete<{ audit_id: number }>(`/api/blocks/${b.id}`, body).then(
      (r) => {
        setBusy(null);
        setMessage({
          ok: true,
          text: `Lifted the block of ${b.identity} (${b.policy}); audit entry ${r.audit_id}.`,
        });
        reload();
      },
      (e: Error) => {
        setBusy(null);
        setMessage({ ok: false, text: e.message });
        reload();
      },
    );
  };

  return (
    <div className="page">
      <header className="page-head">
        <h2>Blocks</h2>
        {editor && (
          <input
            type="text"
            aria-label="Reason for lifting"
            placeholder="Reason for lifting (recorded in the audit log)"
            value={reason}
            maxLength={500}
            style={{ minWidth: '24rem' }}
            onChange={(e) => setReason(e.target.value)}
          />
        )}
      </header>
      <p className="hint">
        Identities blocked by a policy&apos;s penalty after repeated refusals (POLICY_FILE, see the
        wiki&apos;s policies page). A blocked client gets 403 with Retry-After until the end.
      </p>
      <OutcomeLine outcome={message} />
      {error && <ErrorBox message={error} />}
      {!data ? (
        !error && <Loading what="blocks" />
      ) : !data.penalties ? (
        <Empty>No policy file (POLICY_FILE) is loaded, so nothing can be blocked.</Empty>
      ) : data.blocks.length === 0 ? (
        <Empty>No identity is blocked now.</Empty>
      ) : (
        <div className="table-wrap">
          <table data-testid="blocks">
            <thead>
              <tr>
                <th>Identity</th>
                <th>Policy</th>
                <th>Reason</th>
                <th>Level</th>
                <th>Started</th>
                <th>Ends</th>
                {editor && <th />}
              </tr>
            </thead>
            <tbody>
              {data.blocks.map((b) => (
                <tr key={b.id} data-block-id={b.id}>
                  <td>
                    <code>{b.identity}</code>
                    {b.scope && <span className="hint sub">{b.scope}</span>}
                  </td>
                  <td>{b.policy}</td>
                  <td className="message">{b.reason}</td>
                  <td>{b.level}</td>
                  <td>{formatTime(b.started_at)}</td>
                  <td>
                    {formatTime(b.ends_at)}
                    <span className="hint sub">in {remainingText(b.remaining_seconds)}</span>
                  </td>
                  {editor && (
                    <td>
                      <button
                        type="button"
                        className="primary"
                        disabled={busy !== null}
                        onClick={() => lift(b)}
                        aria-label={`Unblock ${b.identity}`}
                      >
                        {busy === b.id ? 'Unblocking…' : 'Unblock'}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
