// Loading, empty and error states, so every page says what is happening instead of showing nothing.
import type { ReactNode } from 'react';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

export function ErrorBox({ message }: { message: string }) {
  return (
    <p className="state error" role="alert">
      {message}
    </p>
  );
}

/** What an action (a switch, a save, an unblock) came to: kept until the next action. */
export interface Outcome {
  ok: boolean;
  text: string;
}

/** An action's outcome: announced politely when it worked, as an alert when it did not. */
export function OutcomeLine({ outcome }: { outcome: Outcome | null }) {
  if (outcome === null) return null;
  return (
    <p className={`state ${outcome.ok ? 'ok' : 'error'}`} role={outcome.ok ? 'status' : 'alert'}>
      {outcome.text}
    </p>
  );
}
