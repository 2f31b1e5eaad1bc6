// Test control of a running simulator beyond plain data edits:
// - mutation-on-request hooks: "when the Nth request to route X arrives, delete work
//   package Y", so a test can change the server in the middle of a sync at a point it
//   chooses (between two list pages, before an attachment listing, …);
// - admin mutations in OpenProject's own terms, each one server transaction with a new
//   updatedAt and lockVersion: create a work package from a template, move it to another
//   project or type, set its status or a custom field, replace an attachment (OpenProject
//   attachments are immutable: a new version is a new attachment with a new id);
// - a deep copy of a dataset, so a second simulator can serve a frozen state.
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

const registry = new WeakMap<object, RequestHooks>();

/** Wiring for server.ts: remember which hooks belong to which simulator. */
export function withHooks<T extends object>(hooks: RequestHooks, sim: T): T {
  registry.set(sim, hooks);
  return sim;
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

/** A deep copy (attachment bytes are shared: they are never edited in place). */
export function cloneDataset(ds: Dataset): Dataset {
  return {
    instance: ds.instance,
    workPackages: new Map([...ds.workPackages].map(([id, wp]) => [id, structuredClone(wp)])),
    attachments: new Map([...ds.attachments].map(([id, a]) => [id, { meta: structuredClone(a.meta), content: a.content }])),
  };
}
