// Issue 20: descriptions read the way OpenProject's own formatter reads them
// (lib/open_project/text_formatting/ in opf/openproject): each case is one defect found on
// real OpenProject texts, with what OpenProject renders for it.
import { describe, expect, it } from 'vitest';
import { convertDescription, findOpenProjectSyntax, resourceHref, wikiHref, type DescriptionLinks } from '../../src/mapping/html/index.js';
import { normaliseTags } from '../../src/mapping/html/source.js';

const BASE = 'https://op.example/sub';
const links = (over: Partial<DescriptionLinks> = {}): DescriptionLinks => ({
  image: () => null,
  href: (h) => h,
  workPackage: (id) => (id === 12 ? '../12/' : null),
  openProjectPage: null,
  baseUrl: BASE,
  resource: (ref) => resourceHref(ref, BASE, 'demo'),
  wiki: (link) => wikiHref(link, BASE, 'demo'),
  ...over,
});
const md = (src: string, over: Partial<DescriptionLinks> = {}): string => convertDescription(src, links(over)).markdown;

describe('OpenProject markdown dialect (markdown_filter.rb)', () => {
  it('keeps single line breaks (render option HARDBREAKS), not in code', () => {
    expect(md('**Visuals:**\n![x](https://e.example/x.png)')).toBe('**Visuals:**\\\n![x](https://e.example/x.png)');
    expect(md('Step 1\n*Expected Results:*')).toBe('Step 1\\\n_Expected Results:_');
    expect(md('```\na\nb\n```')).toBe('```\na\nb\n```');
  });
  it('shows the tags GFM\'s tagfilter filters as text (this is a <script>), not in code', () => {
    expect(md('this is a <script> and `<script>`')).toBe('this is a \\<script> and `<script>`');
  });
  it('strikes only ~~x~~ (STRIKETHROUGH_DOUBLE_TILDE); ~x~ keeps its tildes', () => {
    expect(md('~x~ and ~~y~~')).toBe('\\~x\\~ and ~~y~~');
  });
  it('links bare URLs with their decoded text: no &amp;, no stray backslash', () => {
    expect(md('see https://example.com/a?b=1&amp;c=2 ok')).toBe('see <https://example.com/a?b=1&c=2> ok');
    expect(md('see https://x.example/a\\_b.')).toBe('see <https://x.example/a_b>.');
    expect(md('<p>see https://x.example/q?a=1&amp;b=2 here.</p>')).toBe('see <https://x.example/q?a=1&b=2> here.');
    expect(md("see https://x.example/it's-here and [a](https://x.example/a'b)")).toBe("see <https://x.example/it's-here> and [a](https://x.example/a'b)");
  });
  it('escapes what Hugo\'s typographer would change in text, never in URLs', () => {
    expect(md('"q" it\'s ... a--b <<c')).toBe('\\"q\\" it\\\'s \\... a\\--b \\<\\<c');
  });
  it('reads a tag whose unquoted attribute value holds a slash as HTML (CommonMark), not as text', () => {
    expect(md("<a target='_blank' href=https://www.brief.health/post/2019/09/10/himss/>HIMSS</a> after")).toBe('[HIMSS](https://www.brief.health/post/2019/09/10/himss/) after');
    expect(md('more.<br><br><a target="_blank" href=https://www.youtube.com/watch?v=6BYsdXdwNKM>Read on youtube.com</a>')).toBe('more.\\\n\\\n[Read on youtube.com](https://www.youtube.com/watch?v=6BYsdXdwNKM)');
    expect(normaliseTags('`<a href=x/y>` and\n```\n<a href=x/y>\n```')).toBe('`<a href=x/y>` and\n```\n<a href=x/y>\n```');
  });
});

describe('tables and task lists', () => {
  it('gives a table without a header row its first row as header, not an empty one', () => {
    expect(md('<figure class="table"><table><tbody><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></tbody></table></figure>')).toBe(['| a | b |', '| - | - |', '| c | d |'].join('\n'));
  });
  it('keeps the state of checkboxes in table cells and of CKEditor to-do lists', () => {
    const todo = (checked: boolean, t: string): string => `<li><label class="todo-list__label"><input type="checkbox" disabled="disabled"${checked ? ' checked="checked"' : ''}><span class="todo-list__label__description">${t}</span></label></li>`;
    expect(md(`<ul class="todo-list">${todo(true, 'done')}${todo(false, 'open')}</ul>`)).toBe('- [x] done\n- [ ] open');
    expect(md(`<figure class="table"><table><tbody><tr><th>t</th></tr><tr><td><ul class="todo-list">${todo(true, 'done')}</ul></td></tr><tr><td><input type="checkbox"> x</td></tr></tbody></table></figure>`)).toBe(['| t        |', '| -------- |', '| • ☑ done |', '| ☐ x      |'].join('\n'));
  });
});

describe('setting variables (setting_macros.rb)', () => {
  it('expands {{opSetting:base_url}} in links and text; without an address the variable is dropped, never shown', () => {
    expect(md('[Demo]({{opSetting:base_url}}/projects/demo) at {{opSetting:host_name}}')).toBe('[Demo](https://op.example/sub/projects/demo) at op.example');
    expect(md('[Demo]({{opSetting:base_url}}/projects/demo)', { baseUrl: null })).toBe('[Demo](/projects/demo)');
  });
});

describe('link handlers (resource_links_matcher.rb, wiki_links_matcher.rb)', () => {
  it('links version, project, user, group, document, meeting, view, commit and source references', () => {
    expect(md('version#3, version:"1.0 beta", version:2.0, project#12, project:demo, user#4, group#5, document#17, message#9, meeting#2, view#7, commit:a85130f, source:"lib/a.rb"')).toBe(
      [
        '[version 3](https://op.example/sub/versions/3), [1.0 beta](https://op.example/sub/projects/demo/roadmap), [2.0](https://op.example/sub/projects/demo/roadmap),',
        '[project 12](https://op.example/sub/projects/12), [demo](https://op.example/sub/projects/demo), [user 4](https://op.example/sub/users/4), [group 5](https://op.example/sub/groups/5),',
        '[document 17](https://op.example/sub/documents/17), [message 9](https://op.example/sub/topics/9), [meeting 2](https://op.example/sub/meetings/2),',
        '[view 7](https://op.example/sub/projects/demo/work_packages?query_id=7), [a85130f](https://op.example/sub/projects/demo/repository/revision/a85130f),',
        '[lib/a.rb](https://op.example/sub/projects/demo/repository/entry/lib/a.rb)',
      ].join(' '),
    );
  });
  it('links wiki pages; ! escapes; nothing inside code; labels without an address', () => {
    expect(md('[[Wiki page]], [[Page|the text]], [[other:Start]], ![[Kept]], !version#3, `version#3`')).toBe(
      '[Wiki page](https://op.example/sub/projects/demo/wiki/wiki-page), [the text](https://op.example/sub/projects/demo/wiki/page), [Start](https://op.example/sub/projects/other/wiki/start), \\[\\[Kept]], version#3, `version#3`',
    );
    expect(md('version#3 and [[Page]]', { resource: () => null, wiki: () => null })).toBe('version 3 and Page');
  });
  it('finds references with OpenProject\'s boundaries only', () => {
    expect(findOpenProjectSyntax('myversion#3 xversion:1 (version#4)', false).map((m) => m.text)).toEqual(['version#4']);
    expect(findOpenProjectSyntax('demo:version:"1.0".', true).map((m) => (m.type === 'resource' ? m.ref : null))).toEqual([{ kind: 'version', value: '1.0', byId: false, project: 'demo' }]);
  });
});

describe('work package references and attribute macros', () => {
  it('shows ##N and ###N as the reference #N (never the hashes)', () => {
    expect(md('##12 and ###13 and !##14')).toBe('[#12](../12/) and #13 and ##14');
  });
  it('links semantic identifiers (#PROJ-7) and shows ##PROJ-7 / ###PROJ-7 and display-id mentions as #PROJ-7', () => {
    const semanticWorkPackage = (key: string): string => `https://op.example/sub/work_packages/${key}`;
    expect(md('see ##PROJ-7, (###MY_PROJ-1) foo#PROJ-1 #PROJ-1abc #proj-1 !#PROJ-2', { semanticWorkPackage })).toBe(
      'see [#PROJ-7](https://op.example/sub/work_packages/PROJ-7), ([#MY_PROJ-1](https://op.example/sub/work_packages/MY_PROJ-1)) foo#PROJ-1 #PROJ-1abc #proj-1 #PROJ-2',
    );
    expect(md('<mention class="mention" data-id="12" data-text="###KSTP-2" data-type="work_package" data-display-id="KSTP-2">###KSTP-2</mention>')).toBe('[#KSTP-2](../12/)');
    expect(md('<opce-macro-wp-quickinfo data-detailed="false" data-display-id="12" data-id="12">##12</opce-macro-wp-quickinfo>')).toBe('[#12](../12/)');
  });
  // What OpenProject renders where no script runs (render_mode.rb `external_html`: mails,
  // feeds — a static site is one), from its own spec, with the spec's data: project "demo",
  // type "Task", status "New", subject "Cats V Dogs" (opf/openproject@9610091be91d4cc00321be51d098e0ea9a98d8a2:
  // spec/lib/open_project/text_formatting/formats/markdown/static_html_rendering_spec.rb,
  // label from lib/open_project/text_formatting/helpers/static_macro_label.rb).
  describe('##N / ###N show the target as OpenProject\'s static rendering does', () => {
    const catsVDogs = { subject: 'Cats V Dogs', type: 'Task', status: 'New' };
    const workPackageFacts = (id: number): typeof catsVDogs | null => (id === 12 || id === 13 ? catsVDogs : null);
    it('##N: "Task #N: Cats V Dogs" as one link ("renders type + #N + subject as a single anchor")', () => {
      expect(md('see ##12', { workPackageFacts })).toBe('see [Task #12: Cats V Dogs](../12/)');
    });
    it('###N: "New Task #N: Cats V Dogs" ("renders status + type + #N + subject as a single anchor")', () => {
      expect(md('see ###12', { workPackageFacts })).toBe('see [New Task #12: Cats V Dogs](../12/)');
    });
    it('a target not synced: the same text, linked where #N links (here: nowhere)', () => {
      expect(md('see ##13 and #13', { workPackageFacts })).toBe('see Task #13: Cats V Dogs and #13');
    });
    it('a work package the key cannot see, or that does not exist: the bare #N label, not linked, no subject ("inaccessible work package")', () => {
      expect(md('see ##99 and ###99', { workPackageFacts, workPackage: () => 'https://op.example/sub/work_packages/99' })).toBe('see #99 and #99');
    });
    it('#N stays the plain link ("basic mention (#N) — no behaviour change"); !##N stays text', () => {
      expect(md('see #12 and !##12', { workPackageFacts })).toBe('see [#12](../12/) and ##12');
    });
    it('quick-info elements and mentions with two or three hashes ("renders ## quickinfo envelopes as a static anchor")', () => {
      expect(md('<opce-macro-wp-quickinfo data-detailed="true" data-id="12">###12</opce-macro-wp-quickinfo>', { workPackageFacts })).toBe('[New Task #12: Cats V Dogs](../12/)');
      expect(md('<mention class="mention" data-id="12" data-type="work_package" data-text="##12">##12</mention>', { workPackageFacts })).toBe('[Task #12: Cats V Dogs](../12/)');
      expect(md('<mention class="mention" data-id="12" data-type="work_package" data-display-id="DEMO-1">##DEMO-1</mention>', { workPackageFacts })).toBe('[Task DEMO-1: Cats V Dogs](../12/)');
      expect(md('<mention class="mention" data-id="12" data-type="work_package" data-text="#12">#12</mention>', { workPackageFacts })).toBe('[#12](../12/)');
    });
    it('a subject with markdown or Hugo syntax stays text', () => {
      const odd = (): typeof catsVDogs => ({ subject: '*not* {{< x >}} [y](z)', type: 'Bug', status: 'Closed' });
      expect(md('see ##12', { workPackageFacts: odd })).toBe('see [Bug #12: \\*not\\* {{\\< x >}} \\[y\\](z)](../12/)');
    });
  });
  it('never shows an attribute macro: the profile answers, else the attribute is named', () => {
    expect(md('Status: workPackageValue:status, workPackageLabel:startDate', { attribute: (m) => ({ text: m.kind === 'label' ? 'Start date' : 'New', href: null }) })).toBe('Status: New, Start date');
    expect(md('projectValue:status')).not.toContain('projectValue');
  });
});

describe('sanitizing and macros', () => {
  it('keeps only the text of links OpenProject\'s sanitizer drops (javascript:, data:)', () => {
    expect(md('<a href="javascript:alert(1)">click</a>, [x](javascript:alert(2)), [d](data:text/html,x), [ok](https://a.example/), [m](mailto:a@b.example)')).toBe('click, x, d, [ok](https://a.example/), [m](mailto:a@b.example)');
  });
  it('names an image whose source no site can load instead of showing a broken image', () => {
    expect(md('<img src="chrome-extension://abc/x.png" alt="Hub"> and <img src="file:///c:/x.png">')).toBe('\\[image: Hub] and');
    expect(md('![](https://e.example/x.png)')).toBe('![](https://e.example/x.png)');
    // images_spec.rb: a file name no attachment has, a relative path, an URL of the instance
    const href = (h: string): string => (h.startsWith('/') ? `https://op.example/sub${h}` : h);
    expect(md('![foo](does-not-exist.jpg) ![](some/path/to/my-image.jpg) ![](whatever.pdf)', { href })).toBe('\\[image: foo] \\[image: my-image.jpg] \\[image: whatever.pdf]');
    expect(md('a ![](/images/comment.png) b', { href })).toBe('a ![](https://op.example/sub/images/comment.png) b');
  });
  it('links an included wiki page instead of naming the macro', () => {
    expect(md('<macro class="include_wiki_page" data-page="Some page"></macro>')).toBe('_[Wiki page \\"Some page\\" (shown in OpenProject)](https://op.example/sub/projects/demo/wiki/some-page)_');
  });
});

describe('excerpts', () => {
  it('separates a heading from the text after it', () => {
    expect(convertDescription('# Goal\n\nShip it.', links()).text).toBe('Goal — Ship it.');
    expect(convertDescription('# Goal:\n\nShip it.', links()).text).toBe('Goal: Ship it.');
  });
});
