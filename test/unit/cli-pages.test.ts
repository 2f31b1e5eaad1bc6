// Pages rather than files (pure): grouping a work package's changed files into one page
// and its action, site paths as Hugo's default permalinks make them, titles from the
// frontmatter, markdown table cells that cannot break a table.
import { describe, expect, it } from 'vitest';
import { contentPrefix, frontmatterOf, pagesOf, sitePathOf, titleOf } from '../../src/cli/pages.js';
import { cell } from '../../src/cli/summary.js';

describe('pagesOf', () => {
  it('one page per work package, sorted by id; its action from its markdown file', () => {
    const pages = pagesOf([
      { path: 'news/9/index.md', action: 'create', workPackageId: 9 },
      { path: 'news/9/a.png', action: 'create', workPackageId: 9 },
      { path: 'news/2/index.md', action: 'update', workPackageId: 2 },
      { path: 'news/5/b.png', action: 'update', workPackageId: 5 },
      { path: 'news/7/index.md', action: 'delete', workPackageId: 7 },
      { path: 'news/7/c.png', action: 'delete', workPackageId: 7 },
      { path: 'news/8/new-name.md', action: 'create', workPackageId: 8, renamed: true },
      { path: 'news/3/new.md', action: 'create', workPackageId: 3 },
      { path: 'news/3/old.md', action: 'delete', workPackageId: 3 },
    ]);
    expect(pages.map((p) => [p.id, p.action, p.pageFile, p.files])).toEqual([
      [2, 'update', 'news/2/index.md', 1],
      [3, 'update', 'news/3/new.md', 2],
      [5, 'update', null, 1],
      [7, 'delete', 'news/7/index.md', 2],
      [8, 'update', 'news/8/new-name.md', 1],
      [9, 'create', 'news/9/index.md', 2],
    ]);
  });
});

describe('site paths and titles', () => {
  it('bundles, flat files and sections, with slug and url, under the content folder', () => {
    expect(sitePathOf('', 'news/1234/index.md', { slug: 'flu-season-1234' })).toBe('/news/flu-season-1234/');
    expect(sitePathOf('', 'news/1234/index.md', null)).toBe('/news/1234/');
    expect(sitePathOf('docs/op', 'news/1234.md', { slug: 'x' })).toBe('/docs/op/news/x/');
    expect(sitePathOf('', 'news/_index.md', { slug: 'ignored' })).toBe('/news/');
    expect(sitePathOf('', 'news/1.md', { url: '/custom/place/' })).toBe('/custom/place/');
    expect(contentPrefix('/srv/site/content')).toBe('');
    expect(contentPrefix('/srv/site/content/docs/op')).toBe('docs/op');
    expect(contentPrefix('/tmp/out')).toBe('');
  });

  it('titles come from the frontmatter, on one line; none when it does not parse', () => {
    expect(titleOf(frontmatterOf('---\ntitle: "A: b"\nslug: a\n---\nbody'))).toBe('A: b');
    expect(titleOf(frontmatterOf("---\ntitle: >-\n  folded\n  title\n---\n"))).toBe('folded title');
    expect(titleOf(frontmatterOf('no frontmatter'))).toBeNull();
    expect(titleOf(frontmatterOf('---\ntitle: [unclosed\n---\n'))).toBeNull();
  });

  it('a table cell cannot break the table or inject markup', () => {
    expect(cell('a | b\nc *d* [e](f) <script>')).toBe('a \\| b c \\*d\\* \\[e\\](f) \\<script\\>');
  });
});
