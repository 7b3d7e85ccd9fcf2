/**
 * @module Banner markdown to HTML, safe to put in the page as it is: raw
 * HTML is escaped (markdown-it `html: false`), images are not rendered (a
 * banner is text; no request leaves for a tracker and no onerror can exist),
 * links are kept only when they are http(s) or mailto and open with
 * rel="noopener noreferrer" in a new tab; anything else stays text.
 */
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
md.disable(['image']);
md.validateLink = (url: string) => /^(https?:\/\/|mailto:)/i.test(url.trim());
md.linkify.set({ fuzzyEmail: false });

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const t = tokens[idx]!;
  t.attrSet('rel', 'noopener noreferrer');
  t.attrSet('target', '_blank');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderBannerMarkdown(markdown: string): string {
  return md.render(markdown);
}
