// Response shapes where the real server is stricter (or stranger) than a naive simulator:
// the `select` rendering, the page-union of custom fields, and timestamp precision. Each
// function cites the OpenProject file it mirrors.
import type { InstanceJson, Json, JsonObject, WorkPackageJson } from './types.js';

export interface CollectionParts {
  total: number;
  count: number;
  pageSize: number;
  offset: number;
  links: JsonObject;
  elements: JsonObject[];
}

const TOP_LEVEL = ['total', 'count', 'pageSize', 'offset'] as const;
const LINKS = ['self', 'jumpTo', 'changeSize', 'previousByOffset', 'nextByOffset'];

/**
 * A `select` answer renders exactly what was selected (lib/api/decorators/sql/hal.rb walks
 * the selects; sql_walker_results.rb drops empty `_links`): `select=total,elements/id` is
 * `{"total":N,"_embedded":{"elements":[{"id":…}]}}` — no `_type`, `count`, `pageSize`,
 * `offset` or `_links` unless they were selected too.
 */
export function selectedCollection(select: ReadonlySet<string>, parts: CollectionParts): JsonObject {
  const star = select.has('*');
  const out: JsonObject = {};
  for (const k of TOP_LEVEL) if (star || select.has(k)) out[k] = parts[k];
  const wantsElements = star || [...select].some((k) => k === 'elements' || k.startsWith('elements/'));
  if (wantsElements) out._embedded = { elements: parts.elements };
  const links: JsonObject = {};
  for (const k of LINKS) if ((star || select.has(k)) && parts.links[k] !== undefined) links[k] = parts.links[k]!;
  if (Object.keys(links).length) out._links = links;
  return out;
}

const LINKED_FORMATS = new Set(['list', 'user', 'version']);

/**
 * A rendered collection page carries, on every element, the union of the custom fields
 * available to any work package on the page (work_package_collection_representer.rb /
 * the custom field injector: `represented.map(&:available_custom_fields).flatten.uniq`);
 * a field a work package does not have is rendered empty there — its own schema lacks it.
 * Work packages whose own fields already cover the union are returned as they are.
 */
export function unionCustomFields(page: readonly WorkPackageJson[], schemaKeyOf: (wp: WorkPackageJson) => string, instance: InstanceJson): WorkPackageJson[] {
  const keys = new Set(page.map(schemaKeyOf));
  if (keys.size < 2) return page as WorkPackageJson[];
  const union = new Set<number>();
  for (const k of keys) for (const id of instance.schemas[k] ?? []) union.add(id);
  const byId = new Map(instance.customFields.map((f) => [f.id, f]));
  return page.map((wp) => {
    const own = new Set(instance.schemas[schemaKeyOf(wp)] ?? []);
    const extra = [...union].filter((id) => !own.has(id) && !(`customField${id}` in wp) && !(`customField${id}` in wp._links)).sort((a, b) => a - b);
    if (!extra.length) return wp;
    const copy: WorkPackageJson = { ...wp, _links: { ...wp._links } };
    for (const id of extra) {
      const f = byId.get(id);
      const key = `customField${id}`;
      if (f && LINKED_FORMATS.has(f.fieldFormat)) copy._links[key] = f.multiValue ? [] : { href: null };
      else copy[key] = null;
    }
    // Injected after the work package's own keys; `_links` keeps its place, so the order of
    // the work package's own fields (which curate preserves) is untouched.
    return copy;
  });
}

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO timestamp cut (or zero-padded) to `digits` fractional digits, like Ruby's `iso8601(digits)`. */
export function cutStamp(value: string, digits: number): string {
  const m = STAMP.exec(value);
  if (!m) return value;
  const frac = ((m[2] ?? '') + '000000').slice(0, digits);
  return `${m[1]}${digits > 0 ? `.${frac}` : ''}${m[3]}`;
}

/**
 * Timestamps as a server renders them: lib/api/v3/utilities/date_time_formatter.rb
 * `format_datetime` is `datetime.to_datetime.utc.iso8601` in the versions read (whole
 * seconds; issue 13 reports `iso8601(3)` on current servers), while the server behind the
 * legacy corpus rendered 6 digits. A dataset is served as it holds them unless the
 * simulator is told to cut.
 */
export function cutTimestamps<T extends JsonObject>(json: T, digits: number): T {
  let copy: JsonObject | null = null;
  for (const key of ['createdAt', 'updatedAt']) {
    const v: Json | undefined = json[key];
    if (typeof v !== 'string') continue;
    const cut = cutStamp(v, digits);
    if (cut !== v) (copy ??= { ...json })[key] = cut;
  }
  return (copy ?? json) as T;
}
