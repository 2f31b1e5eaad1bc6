// Test control of a running simulator beyond plain data edits:
// - mutation-on-request hooks: "when the Nth request to route X arrives, delete work
//   package Y", so a test can change the server in the middle of a sync at a point it
//   chooses (between two list pages, before an attachment listing, …);
// - admin mutations in OpenProject's own terms, each one server transaction with a new
//   updatedAt and lockVersion: create a work package from a template, move it to another
//   project or type, set its status or a custom field, replace an attachment (OpenProject
//   attachments are immutable: a new version is a new attachment with a new id);
// - admin edits OpenProject does NOT journal on work packages (issue 19): renames of
//   projects, types, statuses, users, custom fields and custom options change no work
//   package's updatedAt or lockVersion, yet every representation rendered afterwards shows
//   the new name (link titles come from the database);
// - a bulk edit (one updatedAt for many rows), a restore from a backup, an updatedAt set to
//   any instant, and control of the server's `Date` header (missing, garbage, skewed);
// - a deep copy of a dataset, so a second simulator can serve a frozen state.
import type { Store } from './store.js';
import type { AttachmentJson, Dataset, Json, JsonObject, RouteName, Simulator, WorkPackageJson } from './types.js';

export type RequestHook = (request: { route: RouteName; path: string; n: number }) => void;

interface Armed {
  route: RouteName | '*';
  nth: number;
  run: RequestHook;
  fired: boolean;
}

export class RequestHooks {
  private armed: Armed[] = [];
  private readonly seenByRoute = new Map<RouteName | '*', number>();
  /** Hooks that threw (the request is still answered): for the test to report. */
  readonly errors: string[] = [];

  /** Run `hook` once, when the `nth` request (1-based, counted from now) to `route` ('*': any API route) arrives, before it is answered. */
  at(route: RouteName | '*', nth: number, hook: RequestHook): void {
    this.armed.push({ route, nth: (this.seenByRoute.get(route) ?? 0) + nth, run: hook, fired: false });
  }

  /** How many armed hooks have run since the last clear(). */
  fired(): number {
    return this.armed.filter((a) => a.fired).length;
  }

  clear(): void {
    this.armed = [];
    this.errors.length = 0;
  }

  /** Called by the server as each request arrives. */
  seen(route: RouteName, path: string): void {
    for (const key of [route, '*'] as const) this.seenByRoute.set(key, (this.seenByRoute.get(key) ?? 0) + 1);
    for (const a of this.armed) {
      if (a.fired) continue;
      const n = this.seenByRoute.get(a.route) ?? 0;
      if (n !== a.nth) continue;
      a.fired = true;
      try {
        a.run({ route, path, n });
      } catch (e) {
        this.errors.push(`hook at ${a.route} #${a.nth}: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * The server's `Date` header: `normal` (the server clock, as Rails sends it), `missing` (no
 * header at all), `garbage` (an unparsable value, by default `Thu, 99 Foo`) or `skewed`
 * (the server clock + `ms`, negative for the past: a proxy or a server whose wall clock is
 * off). It never changes the clock that stamps `updatedAt`.
 */
export type DateHeaderMode = { mode: 'normal' } | { mode: 'missing' } | { mode: 'garbage'; value: string } | { mode: 'skewed'; ms: number };

/** What hooks need of a running simulator beyond its public interface (wired by server.ts). */
export interface SimulatorControl {
  store: Store;
  dateHeader: DateHeaderMode;
}

const registry = new WeakMap<object, RequestHooks>();
const controls = new WeakMap<object, SimulatorControl>();

/** Wiring for server.ts: remember which hooks and internals belong to which simulator. */
export function withHooks<T extends object>(hooks: RequestHooks, control: SimulatorControl, sim: T): T {
  registry.set(sim, hooks);
  controls.set(sim, control);
  return sim;
}

function controlOf(sim: Simulator): SimulatorControl {
  const c = controls.get(sim);
  if (!c) throw new Error('simulator: no control (not started by startSimulator?)');
  return c;
}

export function requestHooks(sim: Simulator): RequestHooks {
  const hooks = registry.get(sim);
  if (!hooks) throw new Error('simulator: no request hooks (not started by startSimulator?)');
  return hooks;
}

// --- admin mutations ---------------------------------------------------------------

const linkTo = (kind: string, list: JsonObject[], id: number): JsonObject => {
  const row = list.find((x) => x.id === id);
  if (!row) throw new Error(`simulator: no ${kind} ${id}`);
  return { href: `/api/v3/${kind}/${id}`, title: (row.name as Json) ?? null };
};

const idOfLink = (wp: WorkPackageJson, rel: string): number => Number(/\/(\d+)$/.exec(String((wp._links[rel] as { href?: Json } | undefined)?.href ?? ''))?.[1]);

/**
 * Make sure `typeId` is enabled in `projectId`, as an administrator does before moving or
 * creating a work package there: OpenProject refuses a work package whose type is not
 * enabled in its project (app/contracts/work_packages/base_contract.rb,
 * `validate_enabled_type`), so a simulator state without the schema would be one no
 * real server can reach. The new schema gets the custom fields the type has elsewhere.
 */
export function enableType(sim: Simulator, projectId: number, typeId: number): void {
  const schemas = sim.dataset.instance.schemas;
  const key = `${projectId}-${typeId}`;
  if (schemas[key]) return;
  const fields = new Set<number>();
  for (const [k, ids] of Object.entries(schemas)) if (k.endsWith(`-${typeId}`)) ids.forEach((f) => fields.add(f));
  schemas[key] = [...fields].sort((a, b) => a - b);
}

/** Move to another project and/or type (the schema link follows, as on the server). */
export function moveWorkPackage(sim: Simulator, id: number, to: { projectId?: number; typeId?: number }): void {
  const { instance } = sim.dataset;
  const wp = sim.dataset.workPackages.get(id);
  if (!wp) throw new Error(`simulator: no work package ${id}`);
  enableType(sim, to.projectId ?? idOfLink(wp, 'project'), to.typeId ?? idOfLink(wp, 'type'));
  sim.updateWorkPackage(id, (w) => {
    if (to.projectId !== undefined) w._links.project = linkTo('projects', instance.projects, to.projectId);
    if (to.typeId !== undefined) w._links.type = linkTo('types', instance.types, to.typeId);
  });
}

export function setStatus(sim: Simulator, id: number, statusId: number): void {
  sim.updateWorkPackage(id, (wp) => {
    wp._links.status = linkTo('statuses', sim.dataset.instance.statuses, statusId);
  });
}

/** Set a custom field by name (null clears it). */
export function setCustomField(sim: Simulator, id: number, name: string, value: Json): void {
  const field = sim.dataset.instance.customFields.find((f) => f.name === name);
  if (!field) throw new Error(`simulator: no custom field "${name}"`);
  sim.updateWorkPackage(id, (wp) => {
    wp[`customField${field.id}`] = value;
  });
}

/**
 * A new work package: a deep copy of `templateId` (fields, links, and copies of its
 * attachments under new ids) with its own id, subject and timestamps.
 */
export function createWorkPackage(sim: Simulator, templateId: number, init: { id?: number; subject: string; projectId?: number; typeId?: number; statusId?: number }): number {
  const ds = sim.dataset;
  const template = ds.workPackages.get(templateId);
  if (!template) throw new Error(`simulator: no work package ${templateId}`);
  const id = init.id ?? Math.max(0, ...ds.workPackages.keys()) + 1;
  if (ds.workPackages.has(id)) throw new Error(`simulator: work package ${id} exists`);
  enableType(sim, init.projectId ?? idOfLink(template, 'project'), init.typeId ?? idOfLink(template, 'type'));
  const wp = structuredClone(template) as WorkPackageJson;
  wp.id = id;
  wp.subject = init.subject;
  wp.lockVersion = 0;
  wp._links = { ...wp._links, self: { href: `/api/v3/work_packages/${id}`, title: init.subject }, attachments: { href: `/api/v3/work_packages/${id}/attachments` } };
  sim.addWorkPackage(wp);
  const copies = [...ds.attachments.values()].filter((a) => ((a.meta._links as JsonObject | undefined)?.container as { href?: Json } | undefined)?.href === `/api/v3/work_packages/${templateId}`).sort((a, b) => a.meta.id - b.meta.id);
  for (const a of copies) {
    const bytes = Buffer.isBuffer(a.content) ? a.content : a.content.read();
    sim.addAttachment(id, { fileName: a.meta.fileName, contentType: a.meta.contentType as Json }, bytes);
  }
  // One transaction on the real server: created and updated at the same instant.
  sim.updateWorkPackage(id, (w) => {
    if (init.projectId !== undefined) w._links.project = linkTo('projects', ds.instance.projects, init.projectId);
    if (init.typeId !== undefined) w._links.type = linkTo('types', ds.instance.types, init.typeId);
    if (init.statusId !== undefined) w._links.status = linkTo('statuses', ds.instance.statuses, init.statusId);
  });
  const created = ds.workPackages.get(id)!;
  created.createdAt = created.updatedAt;
  return id;
}

/** A new version of an attachment: the old one is deleted and a new one (new id, same name) added. */
export function replaceAttachment(sim: Simulator, attachmentId: number, content: Buffer): AttachmentJson {
  const a = sim.dataset.attachments.get(attachmentId);
  if (!a) throw new Error(`simulator: no attachment ${attachmentId}`);
  const href = ((a.meta._links as JsonObject | undefined)?.container as { href?: Json } | undefined)?.href;
  const container = typeof href === 'string' ? Number(/\/(\d+)$/.exec(href)?.[1]) : NaN;
  if (!Number.isInteger(container)) throw new Error(`simulator: attachment ${attachmentId} has no container`);
  sim.deleteAttachment(attachmentId);
  return sim.addAttachment(container, { fileName: a.meta.fileName, contentType: a.meta.contentType as Json }, content);
}

/** A deep copy, instance included (attachment bytes are shared: they are never edited in place). */
export function cloneDataset(ds: Dataset): Dataset {
  return {
    instance: structuredClone(ds.instance),
    workPackages: new Map([...ds.workPackages].map(([id, wp]) => [id, structuredClone(wp)])),
    attachments: new Map([...ds.attachments].map(([id, a]) => [id, { meta: structuredClone(a.meta), content: a.content }])),
  };
}

// --- what OpenProject does not journal on work packages (issue 19) ---------------------

type LinkObject = { href?: Json; title?: Json };

/** Set `title` on every link of `links` (single or array valued, `self` excepted) whose href is `href`; returns how many. */
function retitle(links: JsonObject | undefined, href: string, title: string, rels?: (rel: string) => boolean): number {
  if (!links) return 0;
  let n = 0;
  for (const [rel, v] of Object.entries(links)) {
    if (rel === 'self' || (rels && !rels(rel))) continue;
    for (const l of Array.isArray(v) ? v : [v]) {
      if (l !== null && typeof l === 'object' && !Array.isArray(l) && (l as LinkObject).href === href) {
        (l as LinkObject).title = title;
        n += 1;
      }
    }
  }
  return n;
}

/** Rename an instance row (its `name` and `_links.self.title`); its own updatedAt moves if it has one, no work package's does. */
function renameRow(sim: Simulator, kind: 'projects' | 'types' | 'statuses' | 'users', id: number, name: string): JsonObject {
  const list = sim.dataset.instance[kind];
  const row = list?.find((x) => x.id === id);
  if (!row) throw new Error(`simulator: no ${kind} ${id}`);
  row.name = name;
  const self = (row._links as JsonObject | undefined)?.self as LinkObject | undefined;
  if (self && typeof self === 'object') self.title = name;
  if (typeof row.updatedAt === 'string') row.updatedAt = controlOf(sim).store.stamp();
  return row;
}

/** Every work package's links with this href get the new title (no updatedAt, no lockVersion). */
function retitleWorkPackages(sim: Simulator, href: string, title: string, rels?: (rel: string) => boolean): number {
  let n = 0;
  for (const wp of sim.dataset.workPackages.values()) n += retitle(wp._links, href, title, rels);
  return n;
}

/**
 * A project renamed: its `name` and self title; every work package's `_links.project.title`
 * and sub-projects' `_links.parent.title`. No work package's updatedAt or lockVersion moves
 * (OpenProject journals the project, not its work packages). Returns the links retitled.
 */
export function renameProject(sim: Simulator, projectId: number, name: string): number {
  renameRow(sim, 'projects', projectId, name);
  const href = `/api/v3/projects/${projectId}`;
  for (const p of sim.dataset.instance.projects) retitle(p._links as JsonObject | undefined, href, name, (rel) => rel === 'parent');
  return retitleWorkPackages(sim, href, name, (rel) => rel === 'project');
}

/** A type renamed: its row and every work package's `_links.type.title`; no work package changes otherwise. */
export function renameType(sim: Simulator, typeId: number, name: string): number {
  renameRow(sim, 'types', typeId, name);
  return retitleWorkPackages(sim, `/api/v3/types/${typeId}`, name, (rel) => rel === 'type');
}

/** A status renamed: its row and every work package's `_links.status.title`. */
export function renameStatus(sim: Simulator, statusId: number, name: string): number {
  renameRow(sim, 'statuses', statusId, name);
  return retitleWorkPackages(sim, `/api/v3/statuses/${statusId}`, name, (rel) => rel === 'status');
}

/**
 * A user renamed: the instance user; every work package link to `/api/v3/users/<id>`
 * (author, assignee, responsible, user custom fields) and attachments' author links.
 */
export function renameUser(sim: Simulator, userId: number, name: string): number {
  renameRow(sim, 'users', userId, name);
  const href = `/api/v3/users/${userId}`;
  for (const a of sim.dataset.attachments.values()) retitle(a.meta._links as JsonObject | undefined, href, name, (rel) => rel === 'author');
  return retitleWorkPackages(sim, href, name);
}

/** A custom field renamed: the instance's field (schemas render its name from it); work packages are untouched. */
export function renameCustomField(sim: Simulator, customFieldId: number, name: string): void {
  const f = sim.dataset.instance.customFields.find((c) => c.id === customFieldId);
  if (!f) throw new Error(`simulator: no custom field ${customFieldId}`);
  f.name = name;
}

/** A custom option renamed (a list field's value): every work package link with this href (e.g. `/api/v3/custom_options/3`) gets the new title. */
export function renameCustomOption(sim: Simulator, href: string, title: string): number {
  return retitleWorkPackages(sim, href, title, (rel) => rel.startsWith('customField'));
}

/**
 * The server restored from a backup (disaster recovery): the whole state (instance, work
 * packages with their older updatedAt and lockVersion, attachments) replaced in place by a
 * copy of `snapshot` (an earlier `cloneDataset(sim.dataset)`; it stays usable for another
 * restore). The server clock does not go back. `sequences: 'restored'` also resets the
 * attachment id sequence to the backup's (pg_dump restores sequences: new attachments then
 * reuse ids the lost ones had); by default it keeps counting from where it was.
 */
export function restoreSnapshot(sim: Simulator, snapshot: Dataset, options: { sequences?: 'kept' | 'restored' } = {}): void {
  const { store } = controlOf(sim);
  const ds = sim.dataset;
  const copy = cloneDataset(snapshot);
  const inst = ds.instance as unknown as Record<string, unknown>;
  for (const k of Object.keys(inst)) if (!(k in copy.instance)) delete inst[k];
  Object.assign(inst, copy.instance);
  ds.workPackages.clear();
  for (const [id, wp] of copy.workPackages) ds.workPackages.set(id, wp);
  ds.attachments.clear();
  for (const [id, a] of copy.attachments) ds.attachments.set(id, a);
  store.invalidate();
  if (options.sequences === 'restored') store.resetAttachmentSequence();
}

/**
 * One transaction editing many work packages (a bulk edit, a migration): `fn` runs on each,
 * and all get ONE identical new `updatedAt` and lockVersion + 1. Returns that updatedAt.
 */
export function bulkUpdate(sim: Simulator, ids: readonly number[], fn: (wp: WorkPackageJson) => void): string {
  return controlOf(sim).store.bulkUpdate(ids, fn);
}

/** Set one work package's `updatedAt` to any instant (e.g. far in the future: a clock that ran ahead), changing nothing else. */
export function setUpdatedAt(sim: Simulator, id: number, at: string | Date): void {
  const wp = sim.dataset.workPackages.get(id);
  if (!wp) throw new Error(`simulator: no work package ${id}`);
  wp.updatedAt = typeof at === 'string' ? at : at.toISOString();
}

/**
 * The API server's `Date` header from now on: 'normal', 'missing', 'garbage' (`Thu, 99 Foo`
 * unless `value` is given), or `{ mode: 'skewed', ms }` (server clock + ms). The clock that
 * stamps updatedAt is not affected.
 */
export function setDateHeader(sim: Simulator, mode: 'normal' | 'missing' | 'garbage' | DateHeaderMode): void {
  const c = controlOf(sim);
  if (mode === 'normal' || mode === 'missing') c.dateHeader = { mode };
  else if (mode === 'garbage') c.dateHeader = { mode, value: 'Thu, 99 Foo' };
  else c.dateHeader = { ...mode };
}

export function dateHeader(sim: Simulator): DateHeaderMode {
  return { ...controlOf(sim).dateHeader };
}
