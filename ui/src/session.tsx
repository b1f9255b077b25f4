// The logged-in session: the API client and the caller's name and role, for every page.
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import type { Api, Role } from './api.js';

export interface Session {
  api: Api;
  name: string;
  role: Role;
  logout: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a session');
  return s;
}

export function canEdit(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}

/** Loads `path` now and every `everyMs`; keeps the last good data when a refresh fails. */
export function usePoll<T>(path: string | null, everyMs = 5000) {
  const { api } = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    if (path === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      api.get<T>(path).then(
        (d) => {
          if (!alive.current) return;
          setData(d);
          setError(null);
        },
        (e: Error) => alive.current && setError(e.message),
      );
      if (everyMs > 0) timer = setTimeout(load, everyMs);
    };
    load();
    return () => {
      alive.current = false;
      if (timer) clearTimeout(timer);
    };
  }, [api, path, everyMs, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}
