// Wiki: the project's docs pages, rendered from Markdown by markdown-it with raw HTML escaped and only safe
// links (see logic/markdown.ts); links to other docs pages open them here.
import { useMemo, useState } from 'react';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { renderMarkdown } from '../logic/markdown.js';
import { usePoll } from '../session.js';

function Markdown({ source, onPage }: { source: string; onPage: (name: string) => void }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  return (
    <article
      className="markdown"
      data-testid="wiki-article"
      onClick={(e) => {
        const link = (e.target as HTMLElement).closest('a[data-wiki-page]');
        if (!link) return;
        e.preventDefault();
        onPage(link.getAttribute('data-wiki-page')!);
        window.scrollTo(0, 0);
      }}
      // Safe: markdown-it escapes raw HTML and refuses unsafe links (logic/markdown.ts, tested).
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}

export function WikiPage() {
  const list = usePoll<{ pages: { name: string }[] }>('/api/docs', 0);
  const [page, setPage] = useState('admin-ui');
  const doc = usePoll<{ markdown: string }>(`/api/docs/${page}`, 0);
  return (
    <div className="page">
      <header className="page-head">
        <h2>Wiki</h2>
      </header>
      {list.error && <ErrorBox message={list.error} />}
      {list.data && list.data.pages.length === 0 && <Empty>No docs pages found next to the service.</Empty>}
      <nav className="wiki-nav">
        {list.data?.pages.map((p) => (
          <button
            key={p.name}
            type="button"
            className={p.name === page ? 'active' : ''}
            onClick={() => setPage(p.name)}
          >
            {p.name}
          </button>
        ))}
      </nav>
      {doc.error ? (
        <ErrorBox message={doc.error} />
      ) : !doc.data ? (
        <Loading what={page} />
      ) : (
        <Markdown source={doc.data.markdown} onPage={setPage} />
      )}
    </div>
  );
}
