// OpenProject's text syntaxes besides markdown, found in a run of text the way its pattern
// matcher filter finds them (filters/pattern_matcher_filter.rb: every text node outside
// `pre`/`code`), with each matcher's own regex:
// - resource links (matchers/resource_links_matcher.rb and link_handlers/*): `version#3`,
//   `version:1.0`, `version:"1.0 beta"`, `project#12`, `project:demo`, `user#4`, `user:login`,
//   `group#2`, `document#17`, `message#1218`, `meeting#5`, `view#9`, `commit:a85130f`,
//   `source:"some/file"`, `export:…`, `attachment:file.zip`, each optionally prefixed by a
//   project identifier (`demo:version:1.0`); `!` before one is the escape;
// - wiki links (matchers/wiki_links_matcher.rb): `[[Page]]`, `[[Page|text]]`, `[[project:Page]]`;
// - attribute macros (matchers/attribute_macros.rb): `workPackageValue:1234:subject`,
//   `workPackageLabel:subject`, `projectValue:"Custom field"`, …
// `#N` work package references are found by references.ts (same boundaries).

const HASH_PREFIXES = ['version', 'message', 'project', 'user', 'group', 'document', 'meeting', 'view'] as const;
const COLON_PREFIXES = ['commit', 'source', 'export', 'version', 'project', 'user', 'attachment'] as const;
const PREFIXES = [...new Set([...HASH_PREFIXES, ...COLON_PREFIXES])];

export type ResourceKind = (typeof HASH_PREFIXES)[number] | (typeof COLON_PREFIXES)[number];

export interface ResourceRef {
  kind: ResourceKind;
  /** `version#3` → '3' (by id); `version:1.0` → '1.0' (by name, quotes removed). */
  value: string;
  byId: boolean;
  /** The project identifier written before it (`demo:version:1.0`), else null. */
  project: string | null;
}

export interface AttributeMacro {
  model: string;
  kind: 'label' | 'value';
  /** The referenced id or subject (`workPackageValue:1234:subject`), null = the current one. */
  id: string | null;
  attribute: string;
}

export interface WikiLink {
  project: string | null;
  page: string;
  title: string | null;
}

export type SyntaxMatch = { start: number; end: number; text: string } & (
  | { type: 'resource'; ref: ResourceRef; escaped: boolean }
  | { type: 'wiki'; link: WikiLink; escaped: boolean }
  | { type: 'attribute'; macro: AttributeMacro }
  | { type: 'semantic'; key: string; escaped: boolean }
);

// Ruby's `^`/`$` are line anchors; `[[:punct:]]\W` is punctuation before a non-word character.
const RESOURCE = new RegExp(
  String.raw`(^|[\s(,\-[>])(!)?(?:([a-z0-9\-_]+):)?(${PREFIXES.join('|')})(?:(#)(\d+)|(:)([^"\s<>][^\s<>]*?|"([^"]+)"))(?=[\p{P}\p{S}](?:[^\p{L}\p{N}_]|$)|\.$|,|\)|\s|\]|<|$)`,
  'gmu',
);
const WIKI = /(!)?(\[\[([^\]\n|]+)(\|([^\]\n|]+))?\]\])/g;
// Semantic work package identifiers (`#PROJ-7`, `##PROJ-7`, `###PROJ-7`; the CKEditor build's
// work-package-refs tests): an upper-case project identifier, a dash, a number.
const SEMANTIC = /(^|[\s(,[>])(!)?(#{1,3})([A-Z][A-Z0-9_]*-\d+)(?![\p{L}\p{N}_])/gmu;
const ATTRIBUTE = /(\w+)(Label|Value)(?::(?:([^"\s]+)|"([^"]+)"))?(?::([^"\s.]+|"([^"]+)"))/g;

export function findOpenProjectSyntax(text: string, atStart: boolean): SyntaxMatch[] {
  const found: SyntaxMatch[] = [];
  // A run that does not start right after markup sees a character before it; `x` is not a leading one.
  const probe = atStart ? text : `x${text}`;
  const shift = atStart ? 0 : 1;
  for (const m of probe.matchAll(RESOURCE)) {
    const prefix = m[4] as ResourceKind;
    const byId = m[5] === '#';
    if (byId ? !(HASH_PREFIXES as readonly string[]).includes(prefix) : !(COLON_PREFIXES as readonly string[]).includes(prefix)) continue;
    const start = m.index + m[1]!.length - shift;
    const end = m.index + m[0].length - shift;
    if (start < 0) continue;
    const value = byId ? m[6]! : (m[9] ?? m[8]!);
    found.push({ type: 'resource', start, end, text: text.slice(start, end), escaped: m[2] !== undefined, ref: { kind: prefix, value, byId, project: m[3] ?? null } });
  }
  if (/#[A-Z]/.test(text)) {
    for (const m of probe.matchAll(SEMANTIC)) {
      const start = m.index + m[1]!.length - shift;
      if (start < 0) continue;
      const end = m.index + m[0].length - shift;
      found.push({ type: 'semantic', start, end, text: text.slice(start, end), escaped: m[2] !== undefined, key: m[4]! });
    }
  }
  if (text.includes('[[')) {
    for (const m of text.matchAll(WIKI)) {
      let page = m[3]!.trim();
      let project: string | null = null;
      let title = m[5]?.trim() ?? null;
      const p = /^([^:]+):(.*)$/.exec(page);
      if (p) {
        project = p[1]!;
        page = p[2]!;
        if (page === '') title ??= project;
      }
      found.push({ type: 'wiki', start: m.index, end: m.index + m[0].length, text: m[0], escaped: m[1] !== undefined, link: { project, page, title } });
    }
  }
  if (text.includes('Label:') || text.includes('Value:')) {
    for (const m of text.matchAll(ATTRIBUTE)) {
      // Punctuation after an unquoted attribute name ends the sentence, not the name.
      const attribute = m[6] ?? m[5]!.replace(/[,;:!?)\]]+$/, '');
      const cut = m[6] === undefined ? m[5]!.length - attribute.length : 0;
      if (attribute === '') continue;
      found.push({ type: 'attribute', start: m.index, end: m.index + m[0].length - cut, text: m[0].slice(0, m[0].length - cut), macro: { model: m[1]!, kind: m[2] === 'Label' ? 'label' : 'value', id: m[4] ?? m[3] ?? null, attribute } });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: SyntaxMatch[] = [];
  for (const f of found) if (out.length === 0 || f.start >= out[out.length - 1]!.end) out.push(f);
  return out;
}

/** What the page shows for a resource reference (OpenProject shows the object's name; curate knows only what was written). */
export function resourceLabel(ref: ResourceRef): string {
  if (!ref.byId) return ref.value;
  return `${ref.kind} ${ref.value}`;
}

/** OpenProject's page for a resource reference, under `base` (the instance root), or null when it has none. */
export function resourceHref(ref: ResourceRef, base: string, currentProject: string): string | null {
  const project = encodeURIComponent(ref.project ?? currentProject);
  const v = encodeURIComponent(ref.value);
  if (ref.byId) {
    switch (ref.kind) {
      case 'version':
        return `${base}/versions/${v}`;
      case 'project':
        return `${base}/projects/${v}`;
      case 'user':
        return `${base}/users/${v}`;
      case 'group':
        return `${base}/groups/${v}`;
      case 'document':
        return `${base}/documents/${v}`;
      case 'message':
        return `${base}/topics/${v}`;
      case 'meeting':
        return `${base}/meetings/${v}`;
      case 'view':
        return `${base}/projects/${project}/work_packages?query_id=${v}`;
      default:
        return null;
    }
  }
  switch (ref.kind) {
    case 'version':
      return `${base}/projects/${project}/roadmap`;
    case 'project':
      return `${base}/projects/${v}`;
    case 'commit':
      return `${base}/projects/${project}/repository/revision/${v}`;
    case 'source':
    case 'export':
      return `${base}/projects/${project}/repository/entry/${ref.value.replace(/^[/\\]+/, '').split('/').map(encodeURIComponent).join('/')}`;
    default:
      return null; // user:login (no id), attachment: (handled by the page itself)
  }
}

/** WikiPage.slug: what OpenProject's wiki URLs are made of. */
export function wikiSlug(page: string): string {
  return (
    page
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'wiki'
  );
}

export function wikiHref(link: WikiLink, base: string, currentProject: string): string {
  const project = encodeURIComponent(link.project ?? currentProject);
  const [page, anchor] = link.page.split('#', 2) as [string, string | undefined];
  const path = page.trim() === '' ? `${base}/projects/${project}/wiki` : `${base}/projects/${project}/wiki/${wikiSlug(page)}`;
  return anchor ? `${path}#${encodeURIComponent(anchor)}` : path;
}

export function wikiLabel(link: WikiLink): string {
  return link.title ?? (link.page.split('#', 1)[0]!.trim() || link.project || link.page);
}

/** "startDate" / "custom_field" → "Start date": how OpenProject labels an attribute. */
export function attributeLabel(attribute: string): string {
  const words = attribute
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
