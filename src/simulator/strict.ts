// Response shapes where the real server is stricter (or stranger) than a naive simulator:
// the `select` rendering, the page-union of custom fields, and timestamp precision. Each
// function cites the OpenProject file it mirrors.
import { LINKED_FORMATS } from './render.js';
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
 * the selects, `json_strip_nulls` drops null properties; sql_walker_results.rb drops empty
 * `_links`): `select=total,elements/id` is
 * `{"total":N,"_embedded":{"elements":[{"id":…}]}}` — no `_type`, `count`, `pageSize`,
 * `offset` or `_links` unless they were selected too.
 */
export function selectedCollection(select: ReadonlySet<string>, parts: CollectionParts): JsonObject {
  const star = select.has('*');
  const out: JsonObject = {};
  for (const k of TOP_LEVEL) if (star || select.has(k)) out[k] = parts[k];
  const wantsElements = star || [...select].some((k) => k === 'elements' || k.startsWith('elements/'));
  if (wantsElements) out._embedded = { elements: parts.elements.map(stripNulls) };
  const links: JsonObject = {};
  for (const k of LINKS) if ((star || select.has(k)) && parts.links[k] !== undefined) links[k] = parts.links[k]!;
  if (Object.keys(links).length) out._links = links;
  return out;
}

/** PostgreSQL's `json_strip_nulls`, which the SQL representer wraps every element in: null-valued keys vanish. */
function stripNulls(json: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(json)) {
    if (v === null) continue;
    out[k] = typeof v === 'object' && !Array.isArray(v) ? stripNulls(v) : v;
  }
  return out;
}


/**
 * A rendered collection page carries, on every element, the union of the custom fields
 * available to any work package on the page (work_package_collection_representer.rb /
 * the custom field injector: `represented.map(&:available_custom_fields).flatten.uniq`);
 * a field a work package does not have is rendered empty there — its own schema lacks it.
 * Work packages whose own fields already cover the union are returned as they are; the
 * others as a copy with the foreign fields added after their own keys (`_links` keeps its
 * place, so the order of the work package's own fields, which curate preserves, is untouched).
 */
export function unionCustomFields(page: readonly WorkPackageJson[], schemaKeyOf: (wp: WorkPackageJson) => string, instance: InstanceJson): WorkPackageJson[] {
  const keys = new Set(page.map(schemaKeyOf));
  if (keys.size < 2) return page as WorkPackageJson[];
  const union = new Set<number>();
  for (const k of keys) for (const id of instance.schemas[k] ?? []) union.add(id);
  const byId = new Map(instance.customFields.map((f) => [f.id, f]));
  // Per schema: the foreign fields as [key, linked?, empty value], computed once per page.
  const foreignOf = new Map<string, [string, boolean, Json][]>();
  return page.map((wp) => {
    const schema = schemaKeyOf(wp);
    let foreign = foreignOf.get(schema);
    if (!foreign) {
      const own = new Set(instance.schemas[schema] ?? []);
      foreign = [...union]
        .filter((id) => !own.has(id))
        .sort((a, b) => a - b)
        .map((id): [string, boolean, Json] => {
          const f = byId.get(id);
          const linked = f !== undefined && LINKED_FORMATS.has(f.fieldFormat);
          return [`customField${id}`, linked, linked ? (f.multiValue ? [] : { href: null }) : null];
        });
      foreignOf.set(schema, foreign);
    }
    if (!foreign.length) return wp;
    // Rendered copies are remembered per work package (30 concurrent 1,000-element pages
    // would otherwise copy and re-shape every element each time); any edit moves updatedAt
    // or the key counts, which the signature includes.
    const sig = `${schemaSig(foreign)}|${String(wp.updatedAt)}|${String(wp.lockVersion)}|${Object.keys(wp).length}|${Object.keys(wp._links).length}`;
    const hit = rendered.get(wp);
    if (hit && hit.sig === sig) return hit.copy;
    let copy: WorkPackageJson | null = null;
    for (const [key, linked, empty] of foreign) {
      if (key in wp || key in wp._links) continue;
      copy ??= { ...wp, _links: { ...wp._links } };
      if (linked) copy._links[key] = empty;
      else copy[key] = empty;
    }
    rendered.set(wp, { sig, copy: copy ?? wp });
    return copy ?? wp;
  });
}

const rendered = new WeakMap<WorkPackageJson, { sig: string; copy: WorkPackageJson }>();
const sigs = new WeakMap<object, string>();
const schemaSig = (foreign: [string, boolean, Json][]): string => {
  let s = sigs.get(foreign);
  if (s === undefined) sigs.set(foreign, (s = foreign.map((f) => f[0]).join(',')));
  return s;
};

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
