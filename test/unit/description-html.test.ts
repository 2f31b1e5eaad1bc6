// Description conversion (src/mapping/html): every construct OpenProject's CKEditor 5 stores,
// turned into markdown that Hugo renders without raw HTML, nothing with text dropped.
import { describe, expect, it } from 'vitest';
import { attachmentByFileName, attachmentIdOfUrl, convertDescription, findHashReferences, markdownLiteral, referencedAttachments, workPackageIdOfUrl, type DescriptionLinks } from '../../src/mapping/html/index.js';
import type { Attachment } from '../../src/types.js';

const links = (over: Partial<DescriptionLinks> = {}): DescriptionLinks => ({
  image: (src) => (src.includes('/44/') ? { kind: 'local', src: '44-a.png', width: 600, height: 400 } : src === 'shot.png' ? { kind: 'local', src: '9-shot.png', width: 20, height: 10 } : src.includes('/99/') ? { kind: 'text', text: 'gone.png' } : null),
  href: (h) => h,
  workPackage: (id) => (id === 12 ? '../12/' : id === 13 ? 'https://op.example/work_packages/13' : null),
  openProjectPage: 'https://op.example/projects/p/work_packages',
  ...over,
});
const md = (src: string, over: Partial<DescriptionLinks> = {}): string => convertDescription(src, links(over)).markdown;

describe('description → markdown', () => {
  it('turns a captioned image figure into Hugo\'s figure shortcode with the probed size', () => {
    expect(md('<figure class="image"><img src="/api/v3/attachments/44/content" alt="Alt"><figcaption>A <strong>caption</strong> "q" *x*</figcaption></figure>')).toBe(
      '{{< figure src=`44-a.png` alt=`Alt` caption=`A caption &#34;q&#34; &#42;x&#42;` width=`600` height=`400` >}}',
    );
  });
  it('keeps a link around a figure\'s image, rewritten like any link', () => {
    expect(md('<figure class="image"><a href="/work_packages/12"><img src="/api/v3/attachments/44/content"></a></figure>', { href: (h) => (h === '/work_packages/12' ? '../12/' : h) })).toBe(
      '{{< figure src=`44-a.png` link=`../12/` width=`600` height=`400` >}}',
    );
  });
  it('keeps the author\'s width and scales the height', () => {
    expect(md('<img src="shot.png" width="10">')).toBe('{{< figure src=`9-shot.png` width=`10` height=`5` >}}');
  });
  it('keeps inline images inline (markdown image), block images as figures', () => {
    expect(md('text ![a](/api/v3/attachments/44/content) more')).toBe('text ![a](44-a.png) more');
    expect(md('![a](/api/v3/attachments/44/content)')).toBe('{{< figure src=`44-a.png` alt=`a` width=`600` height=`400` >}}');
  });
  it('says which image could not be shown instead of a broken image', () => {
    expect(md('<img src="/api/v3/attachments/99/content">')).toBe('\\[image: gone.png]');
    expect(md('<img src="https://elsewhere.example/x.png" alt="ext">')).toBe('![ext](https://elsewhere.example/x.png)');
  });
  it('turns HTML tables into GFM tables, block content of a cell onto one line', () => {
    expect(md('<figure class="table"><table><thead><tr><th>a</th><th><br data-cke-filler="true"></th></tr></thead><tbody><tr><td>1<br>2</td><td><ul><li>x</li><li>y</li></ul></td></tr></tbody></table></figure>')).toBe(
      ['| a   |         |', '| --- | ------- |', '| 1 2 | • x • y |'].join('\n'),
    );
  });
  it('keeps user and group mentions as their text, links work package mentions', () => {
    expect(md('Hi <mention class="mention" data-id="5" data-type="user" data-text="@Jane Doe">@Jane Doe</mention> and <mention class="mention" data-id="7" data-type="group" data-text="@Team"></mention>.')).toBe('Hi @Jane Doe and @Team.');
    expect(md('See <mention class="mention" data-id="12" data-type="work_package" data-text="#12">#12</mention>.')).toBe('See [#12](../12/).');
    expect(md('See <mention class="mention" data-id="77" data-type="work_package" data-text="##77">##77</mention>.')).toBe('See #77.');
  });
  it('drops toc / child_pages / create-link macros without losing what follows an unclosed one, notes embedded tables', () => {
    expect(md('<macro class="toc"><macro>\n\n# Title\n\ntext')).toBe('# Title\n\ntext');
    expect(md('<macro class="child_pages"></macro>\n\n<macro class="create_work_package_link" data-type="Task"></macro>\n\nafter')).toBe('after');
    expect(md('<macro class="embedded-table" data-query-props="{}">&nbsp;</macro>')).toBe('_[Embedded work package table (shown in OpenProject)](https://op.example/projects/p/work_packages)_');
    expect(md('<macro class="embedded-table"></macro>', { openProjectPage: null })).toBe('_Embedded work package table (shown in OpenProject)_');
    expect(md('<macro class="include_wiki_page" data-page="x"></macro>')).toBe('_Wiki page \\"x\\" (shown in OpenProject)_');
    expect(md('<macro class="work_package_buttons"></macro>')).toBe('_\\[OpenProject macro: work_package_buttons]_');
  });
  it('links #N, ##N, ###N with OpenProject\'s boundaries, not in code or links, and honours the ! escape', () => {
    expect(md('#12, ##12 and ###13. (#12) x#12 #012 !#12 #12a `#12` [#12](x)')).toBe('[#12](../12/), [#12](../12/) and [#13](https://op.example/work_packages/13). ([#12](../12/)) x#12 #012 #12 #12a `#12` [#12](x)');
    // not linked: the text stays (escaped at a line start, where it renders as `#77`)
    expect(md('#77 is not synced')).toBe('\\#77 is not synced');
  });
  it('has markdown for underline, highlight, line breaks, code with its language and task lists', () => {
    expect(md('<u>u</u> <mark>m</mark> <s>s</s><br>next')).toBe('_u_ **m** ~~s~~\\\nnext');
    expect(md('```ruby\nputs 1\n```')).toBe('```ruby\nputs 1\n```');
    expect(md('<pre><code class="language-js">let a = 1;</code></pre>')).toBe('```js\nlet a = 1;\n```');
    expect(md('* [ ] todo\n* [x] done')).toBe('- [ ] todo\n- [x] done');
  });
  it('keeps entities, emoji and right-to-left text as characters; escapes what markdown or Hugo would read', () => {
    expect(md('&copy; &amp; &lt;b&gt; 😀 <p dir="rtl">مرحبا</p>')).toBe('© & \\<b> 😀\n\nمرحبا');
    expect(md('{{< x >}} and {{% y %}}')).toBe('{{\\< x >}} and {{\\% y %}}');
    expect(md('`{{< x >}}`\n\n```\n{{% y %}}\n```')).toBe('`{{</* x */>}}`\n\n```\n{{%/* y */%}}\n```');
  });
  it('keeps the text of elements markdown cannot express, and embedded media as links', () => {
    expect(md('H<sub>2</sub>O <span style="color:red">red</span> <iframe src="https://v.example/1"></iframe> <figure class="media"><oembed url="https://y.example/v"></oembed></figure>')).toBe(
      'H2O red <https://v.example/1>\n\n<https://y.example/v>',
    );
  });
  it('gives the same bytes for the same input', () => {
    const src = '<figure class="image"><img src="/api/v3/attachments/44/content"></figure>\n\n#12 <u>x</u>';
    expect(md(src)).toBe(md(src));
  });
  it('gives the visible text for excerpts: no image names, no code blocks, no shortcodes', () => {
    expect(convertDescription('# T\n\n<figure class="image"><img src="/api/v3/attachments/44/content" alt="pic"></figure>\n\nHello `x` <b>world</b>\n\n```\ncode\n```', links()).text).toBe('T — Hello x world');
  });
});

describe('references in descriptions', () => {
  const att = (id: number, fileName: string, createdAt = '2024-01-01T00:00:00Z'): Attachment => ({ id, fileName, fileSize: 1, contentType: 'image/png', md5: null, createdAt, downloadHref: '', containerId: 1 });
  it.each([
    ['/api/v3/attachments/44/content', 44],
    ['/openproject/api/v3/attachments/45/content', 45],
    ['https://op.example.com/sub/api/v3/attachments/46/content?x=1', 46],
    ['/attachments/47/file.png', 47],
    ['/attachments/48', 48],
    ['https://op.example.com/api/v3/attachments/49', null],
    ['/api/v3/attachments/x/content', null],
  ])('attachmentIdOfUrl(%j) = %j', (url, id) => {
    expect(attachmentIdOfUrl(url)).toBe(id);
  });
  it.each([
    ['/work_packages/12', 12],
    ['/openproject/projects/docs/work_packages/13/activity', 13],
    ['https://op.example.com/work_packages/14#x', 14],
    ['/projects/docs', null],
  ])('workPackageIdOfUrl(%j) = %j', (url, id) => {
    expect(workPackageIdOfUrl(url)).toBe(id);
  });
  it('finds attachments by any URL form and by file name (case-insensitive, image names only, newest wins)', () => {
    const all = [att(1, 'Shot.PNG', '2024-01-01T00:00:00Z'), att(2, 'shot.png', '2024-02-01T00:00:00Z'), att(3, 'doc.pdf'), att(4, 'x.png')];
    expect(attachmentByFileName('shot.png', all)?.id).toBe(2);
    expect(attachmentByFileName('doc.pdf', all)).toBeNull();
    expect(attachmentByFileName('dir/x.png', all)).toBeNull();
    const ids = referencedAttachments('<img src="SHOT.png"> ![](x.png) [f](/openproject/attachments/9/f.pdf) http://h/api/v3/attachments/8/content /api/v3/attachments/7', all);
    expect([...ids].sort()).toEqual([2, 4, 8, 9]);
  });
  it('finds #N references with their boundaries', () => {
    expect(findHashReferences('#1 ##2 ###3 ####4 (#5) [#6] -#7 a#8 #9. #10!').map((r) => r.text)).toEqual(['#1', '##2', '###3', '#5', '#6', '#7', '#9', '#10']);
    expect(findHashReferences('!#1')[0]).toMatchObject({ id: 1, escaped: true });
    expect(findHashReferences('#1', false)).toEqual([]);
  });
  it('escapes summaries Hugo renders as markdown', () => {
    expect(markdownLiteral('a <b> & *c* [d] `e`')).toBe('a \\<b\\> \\& \\*c\\* \\[d\\] \\`e\\`');
    expect(markdownLiteral('# not a heading')).toBe('\\# not a heading');
    expect(markdownLiteral('1. not a list')).toBe('1\\. not a list');
  });
});
