// What a webhook body says, reduced to what curate acts on: which work package to sync
// and, as a hint only, where it lives. The body is rendered as OpenProject's system user
// (work_package_webhook_job.rb, attachment_webhook_job.rb), so it may show fields curate's
// own key cannot see: nothing in it is ever written anywhere. The id is re-read through
// the API with curate's key; project, type and status only decide whether to bother.
import type { SourceSpec } from '../types.js';

/** Where the payload says a work package lives; any field may be missing. */
export interface ScopeHint {
  projectId?: number;
  projectIdentifier?: string;
  projectName?: string;
  type?: string;
  status?: string;
}

export type WebhookEvent =
  | { kind: 'workPackage'; action: string; id: number; hint: ScopeHint }
  /** `attachment:created` on a work package: sync its container. */
  | { kind: 'attachment'; action: string; attachmentId: number | null; id: number; hint: ScopeHint | null }
  /** Any other event (another resource, or an attachment of a wiki page, meeting, …). */
  | { kind: 'other'; action: string };

/** The body is not a webhook curate can read: answered 400. */
export class PayloadProblem extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const positiveInt = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);
const link = (o: Obj, rel: string): Obj | undefined => {
  const links = o._links;
  return isObj(links) && isObj(links[rel]) ? links[rel] : undefined;
};
const embedded = (o: Obj, rel: string): Obj | undefined => {
  const e = o._embedded;
  return isObj(e) && isObj(e[rel]) ? e[rel] : undefined;
};
/** `…/api/v3/work_packages/42` (a relative URL root may precede it) → 42. */
const workPackageIdOf = (href: unknown): number | null => {
  const m = typeof href === 'string' ? /\/api\/v3\/work_packages\/(\d+)$/.exec(href) : null;
  return m ? positiveInt(Number(m[1])) : null;
};
const idOfHref = (href: unknown): number | undefined => {
  const m = typeof href === 'string' ? /\/(\d+)$/.exec(href) : null;
  return m ? Number(m[1]) : undefined;
};

function hintOf(wp: Obj): ScopeHint {
  const hint: ScopeHint = {};
  const project = embedded(wp, 'project');
  const projectLink = link(wp, 'project');
  const projectId = positiveInt(project?.id) ?? idOfHref(projectLink?.href);
  if (projectId !== undefined && projectId !== null) hint.projectId = projectId;
  const identifier = str(project?.identifier);
  if (identifier !== undefined) hint.projectIdentifier = identifier;
  const projectName = str(project?.name) ?? str(projectLink?.title);
  if (projectName !== undefined) hint.projectName = projectName;
  const type = str(embedded(wp, 'type')?.name) ?? str(link(wp, 'type')?.title);
  if (type !== undefined) hint.type = type;
  const status = str(embedded(wp, 'status')?.name) ?? str(link(wp, 'status')?.title);
  if (status !== undefined) hint.status = status;
  return hint;
}

/** Reads a parsed JSON body. Throws PayloadProblem (→ 400) naming what is wrong. */
export function parseWebhook(body: unknown): WebhookEvent {
  if (!isObj(body)) throw new PayloadProblem('the body is not a JSON object');
  const action = body.action;
  if (typeof action !== 'string' || action === '') throw new PayloadProblem('the body has no "action"');
  if (action.startsWith('work_package:')) {
    const wp = body.work_package;
    if (!isObj(wp)) throw new PayloadProblem(`${action}: the body has no "work_package" object`);
    const id = positiveInt(wp.id);
    if (id === null) throw new PayloadProblem(`${action}: work_package.id is not a positive integer`);
    return { kind: 'workPackage', action, id, hint: hintOf(wp) };
  }
  if (action.startsWith('attachment:')) {
    const att = body.attachment;
    if (!isObj(att)) throw new PayloadProblem(`${action}: the body has no "attachment" object`);
    const containerHref = link(att, 'container')?.href;
    const id = workPackageIdOf(containerHref);
    if (id === null) return { kind: 'other', action };
    const container = embedded(att, 'container');
    return { kind: 'attachment', action, attachmentId: positiveInt(att.id), id, hint: container && container._type === 'WorkPackage' ? hintOf(container) : null };
  }
  return { kind: 'other', action };
}

/**
 * Could the work package belong to a source, going by the payload's hint? `true` when
 * some source matches or the hint lacks what it takes to tell (better one needless
 * targeted sync than a missed edit); `false` only when every source clearly excludes it.
 * Matching follows the engine's name resolution: a project by identifier, id or name;
 * types and statuses by name; no statuses = every status.
 */
export function mayBelong(hint: ScopeHint | null, sources: SourceSpec[]): boolean {
  if (hint === null) return true;
  return sources.some((s) => {
    const project =
      hint.projectIdentifier === undefined && hint.projectName === undefined && hint.projectId === undefined
        ? true
        : s.projects.some((p) => p === hint.projectIdentifier || p === hint.projectName || (hint.projectId !== undefined && p === String(hint.projectId)));
    // Without the identifier, a source naming its project by identifier cannot be ruled out by name or id alone.
    const projectUnsure = hint.projectIdentifier === undefined && hint.projectId !== undefined;
    const type = hint.type === undefined || s.types.includes(hint.type);
    const status = s.statuses.length === 0 || hint.status === undefined || s.statuses.includes(hint.status);
    return (project || projectUnsure) && type && status;
  });
}
