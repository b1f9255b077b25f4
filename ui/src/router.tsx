// A tiny history-API router for the app under /ui/: the current path (with its query) as state, links that
// push it and keep the chosen time range, and useRange() for the range every page shows (?range=).
import { createContext, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { carryRange, rangeOf, withRange } from './logic/range.js';
import type { RangeName } from './logic/range.js';

const BASE = '/ui';

const RouterContext = createContext<{
  path: string;
  navigate: (to: string) => void;
  replace: (to: string) => void;
}>({
  path: '/',
  navigate: () => {},
  replace: () => {},
});

function currentPath(): string {
  const p = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : '/';
  return (p || '/') + window.location.search;
}

export function Router({ children }: { children: ReactNode }) {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const onPop = () => setPath(currentPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = (to: string) => {
    window.history.pushState(null, '', BASE + to);
    setPath(to);
    window.scrollTo(0, 0);
  };
  // Changing the range replaces the entry: Back goes to the previous page, not the previous range.
  const replace = (to: string) => {
    window.history.replaceState(null, '', BASE + to);
    setPath(to);
  };
  return <RouterContext.Provider value={{ path, navigate, replace }}>{children}</RouterContext.Provider>;
}

export function useRouter() {
  return useContext(RouterContext);
}

/** The page's time range from the URL, and a setter that writes it back to the URL. */
export function useRange(): [RangeName, (r: RangeName) => void] {
  const { path, replace } = useRouter();
  return [rangeOf(path), (r: RangeName) => replace(withRange(path, r))];
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const { navigate, path } = useRouter();
  const target = carryRange(to, path);
  return (
    <a
      href={BASE + target}
      className={className}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(target);
      }}
    >
      {children}
    </a>
  );
}
