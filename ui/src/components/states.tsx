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
