// Wiki: the project's docs pages, rendered from Markdown as React elements (never as raw HTML).
import { Fragment, useState } from 'react';
import type { ReactNode } from 'react';
import { ErrorBox, Empty, Loading } from '../components/states.js';
import { parseMarkdown } from '../logic/markdown.js';
import type { Inline } from '../logic/markdown.js';
import { usePoll } from '../session.js';

function inline(parts: Inline[]): ReactNode {
  return parts.map((p, i) => {
    if (p.kind === 'code') return <code key={i}>{p.text}</code>;
    if (p.kind === 'strong') return <strong key={i}>{p.text}</strong>;
    if (p.kind === 'link') {
      const safe = /^(https?:\/\/|#|[a-z0-9-]+\.md)/i.test(p.href);
      return safe ? (
        <a key={i} href={p.href.endsWith('.md') ? `#${p.href.slice(0, -3)}` : p.href} rel="noreferrer">
          {p.text}
        </a>
      ) : (
        <span key={i}>{p.text}</span>
      );
    }
    return <Fragment key={i}>{p.text}</Fragment>;
  });
}

function Markdown({ source }: { source: string }) {
  return (
    <article className="markdown">
      {parseMarkdown(source).map((b, i) => {
        switch (b.kind) {
          case 'heading': {
            const Tag = `h${Math.min(6, b.level + 1)}` as 'h2';
            return <Tag key={i}>{inline(b.inline)}</Tag>;
          }
          case 'paragraph':
            return <p key={i}>{inline(b.inline)}</p>;
          case 'list':
            return (
              <ul key={i}>
                {b.items.map((it, j) => (
                  <li key={j}>{inline(it)}</li>
                ))}
              </ul>
            );
          case 'code':
            return (
              <pre key={i}>
                <code>{b.text}</code>
              </pre>
            );
          case 'table':
            return (
              <div key={i} className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      {b.header.map((h, j) => (
                        <th key={j}>{inline(h)}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {b.rows.map((r, j) => (
                      <tr key={j}>
                        {r.map((c, k) => (
                          <td key={k}>{inline(c)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
        }
        return null;
      })}
    </article>
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
        <Markdown source={doc.data.markdown} />
      )}
    </div>
  );
}
