// The wiki's Markdown renderer: markdown-it (CommonMark plus GFM tables and strikethrough), configured so
// its HTML is safe to insert: raw HTML in the source is escaped (html: false), links are only http(s),
// in-page anchors or other docs pages (anything else, such as javascript:, stays text), and no inline
// styles or scripts are produced, so the UI's strict CSP holds. Docs links become wiki links.
import MarkdownIt from 'markdown-it';

const SAFE_LINK = /^(https?:\/\/|#|[a-z0-9-]+\.md(#[a-z0-9-]*)?$)/i;

function renderer() {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  md.validateLink = (url) => SAFE_LINK.test(url.trim());
  const defaultLink =
    md.renderer.rules.link_open ?? ((tokens, i, options, _env, self) => self.renderToken(tokens, i, options));
  md.renderer.rules.link_open = (tokens, i, options, env, self) => {
    const token = tokens[i]!;
    const href = String(token.attrGet('href') ?? '');
    const page = /^([a-z0-9-]+)\.md(?:#[a-z0-9-]*)?$/i.exec(href);
    if (page) {
      // Another docs page: the wiki opens it in place (see WikiPage's click handler).
      token.attrSet('href', `?page=${page[1]!.toLowerCase()}`);
      token.attrSet('data-wiki-page', page[1]!.toLowerCase());
    } else if (/^https?:/i.test(href)) {
      token.attrSet('rel', 'noreferrer noopener');
      token.attrSet('target', '_blank');
    }
    return defaultLink(tokens, i, options, env, self);
  };
  // Wide tables scroll inside their box instead of being clipped or widening the page.
  md.renderer.rules.table_open = () => '<div class="table-wrap"><table>\n';
  md.renderer.rules.table_close = () => '</table></div>\n';
  return md;
}

let md: ReturnType<typeof renderer> | undefined;

/** HTML for a docs page's Markdown, safe to insert as the wiki's article. */
export function renderMarkdown(source: string): string {
  md ??= renderer();
  return md.render(source);
}
