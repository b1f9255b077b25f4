// The admin UI shell: log in with a token, then a navigation bar and the page for the current path.
import { useEffect, useState } from 'react';
import { Api, ApiError, savedToken, saveToken } from './api.js';
import type { Role } from './api.js';
import { AgreementPage } from './pages/agreement.js';
import { ActiveSeriesPage } from './pages/active-series.js';
import { AuditPage } from './pages/audit.js';
import { BlocksPage } from './pages/blocks.js';
import { CardinalityPage } from './pages/cardinality.js';
import { ConfigPage } from './pages/config.js';
import { CostPage } from './pages/cost.js';
import { DenialsPage } from './pages/denials.js';
import { ListsPage } from './pages/lists.js';
import { OverviewPage } from './pages/overview.js';
import { SystemPage } from './pages/system.js';
import { TenantDetailPage } from './pages/tenant-detail.js';
import { TenantsPage } from './pages/tenants.js';
import { WikiPage } from './pages/wiki.js';
import { Link, useRouter } from './router.js';
import { SessionContext } from './session.js';
import type { Session } from './session.js';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/tenants', 'Tenants'],
  ['/denials', 'Denials'],
  ['/cardinality', 'Series per request'],
  ['/cost', 'Cost'],
  ['/agreement', 'Agreement'],
  ['/active-series', 'Active series'],
  ['/system', 'System'],
  ['/config', 'Config'],
  ['/audit', 'Audit log'],
  ['/blocks', 'Blocks'],
  ['/lists', 'Lists'],
  ['/wiki', 'Wiki'],
];

function Login({ onLogin, error }: { onLogin: (token: string) => void; error: string | null }) {
  const [token, setToken] = useState('');
  return (
    <main className="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onLogin(token.trim());
        }}
      >
        <h1>Mimir Edge Enforcement</h1>
        <label>
          Admin token
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="ADMIN_TOKEN, or the token the service logged at start"
          />
        </label>
        {error && (
          <p className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Log in
        </button>
      </form>
    </main>
  );
}

function Page({ path }: { path: string }) {
  const clean = path.split('?')[0]!.replace(/\/+$/, '') || '/';
  const tenant = /^\/tenants\/(.+)$/.exec(clean);
  if (tenant) return <TenantDetailPage id={decodeURIComponent(tenant[1]!)} />;
  switch (clean) {
    case '/':
      return <OverviewPage />;
    case '/tenants':
      return <TenantsPage />;
    case '/denials':
      return <DenialsPage />;
    case '/cardinality':
      return <CardinalityPage />;
    case '/cost':
      return <CostPage />;
    case '/agreement':
      return <AgreementPage />;
    case '/active-series':
      return <ActiveSeriesPage />;
    case '/system':
      return <SystemPage />;
    case '/config':
      return <ConfigPage />;
    case '/audit':
      return <AuditPage />;
    case '/blocks':
      return <BlocksPage />;
    case '/lists':
      return <ListsPage />;
    case '/wiki':
      return <WikiPage />;
    default:
      return (
        <div className="page">
          <p className="state empty">There is no page {clean}.</p>
        </div>
      );
  }
}

export function App() {
  const { path } = useRouter();
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(savedToken() !== null);

  const login = (token: string) => {
    const api = new Api(token);
    api.get<{ name: string; role: Role }>('/api/whoami').then(
      (me) => {
        saveToken(token);
        setError(null);
        setChecking(false);
        setSession({
          api,
          name: me.name,
          role: me.role,
          logout: () => {
            saveToken(null);
            setSession(null);
          },
        });
      },
      (e: Error) => {
        saveToken(null);
        setChecking(false);
        setError(
          e instanceof ApiError && e.status === 401
            ? 'That token was refused: check it and try again.'
            : e.message,
        );
      },
    );
  };

  useEffect(() => {
    const token = savedToken();
    if (token) login(token);
  }, []);

  if (!session)
    return checking ? (
      <p className="state loading">Checking your token…</p>
    ) : (
      <Login onLogin={login} error={error} />
    );
  const active = (to: string) => (to === '/' ? path.split('?')[0] === '/' : path.startsWith(to));
  return (
    <SessionContext.Provider value={session}>
      <div className="shell">
        <nav className="nav" aria-label="Pages">
          <span className="brand">Mimir Edge</span>
          {NAV.map(([to, title]) => (
            <Link key={to} to={to} className={active(to) ? 'active' : ''}>
              {title}
            </Link>
          ))}
          <span className="who">
            {session.name} ({session.role}){' '}
            <button type="button" onClick={session.logout}>
              Log out
            </button>
          </span>
        </nav>
        <main>
          <Page path={path} />
        </main>
      </div>
    </SessionContext.Provider>
  );
}
