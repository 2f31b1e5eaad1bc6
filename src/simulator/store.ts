// The simulator's data and its indexes: ids in order (listing 10,000 work packages per
// request must stay cheap) and attachments by container. Mutations go through here so
// the indexes and the server clock stay right; direct edits of the dataset's Maps are
// noticed by size and re-indexed (tests sometimes reach in).
import { contentBytes, md5 } from './dataset.js';
import { cutStamp } from './strict.js';
import type { AttachmentJson, AttachmentStatus, Dataset, Json, JsonObject, LazyContent, WorkPackageJson } from './types.js';

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  ico: 'image/vnd.microsoft.icon',
  pdf: 'application/pdf',
  json: 'application/json',
  txt: 'text/plain',
};

export const containerIdOf = (meta: AttachmentJson): number | null => {
  const href = ((meta._links as JsonObject | undefined)?.container as { href?: Json } | undefined)?.href;
  const m = typeof href === 'string' ? /\/work_packages\/(\d+)$/.exec(href) : null;
  return m ? Number(m[1]) : null;
};

export const linkIdOf = (wp: WorkPackageJson, rel: string): number | null => {
  const href = (wp._links[rel] as { href?: Json } | undefined)?.href;
  const m = typeof href === 'string' ? /\/(\d+)$/.exec(href) : null;
  return m ? Number(m[1]) : null;
};

export class Store {
  private ids: number[] = [];
  private byContainer = new Map<number, number[]>();
  private indexedWps = -1;
  private indexedAtts = -1;
  private lastStamp = 0;
  private nextAttachmentId: number;

  constructor(
    readonly dataset: Dataset,
    private readonly clock: () => Date,
    /** Fractional digits of new stamps (date_time_formatter.rb: `iso8601(3)` on current servers). */
    private readonly stampDigits = 3,
  ) {
    let max = 0;
    for (const id of dataset.attachments.keys()) if (id > max) max = id;
    this.nextAttachmentId = max + 1;
  }

  private reindex(): void {
    const ds = this.dataset;
    if (this.indexedWps !== ds.workPackages.size) {
      this.ids = [...ds.workPackages.keys()].sort((a, b) => a - b);
      this.indexedWps = ds.workPackages.size;
    }
    if (this.indexedAtts !== ds.attachments.size) {
      this.byContainer = new Map();
      for (const { meta } of ds.attachments.values()) {
        const c = containerIdOf(meta);
        if (c === null) continue;
        const list = this.byContainer.get(c);
        if (list) list.push(meta.id);
        else this.byContainer.set(c, [meta.id]);
      }
      for (const list of this.byContainer.values()) list.sort((a, b) => a - b);
      this.indexedAtts = ds.attachments.size;
    }
  }

  /**
   * Counts changes made through this store (every stamped edit, addition, deletion or
   * restore): what SimulatorOptions.cacheListings keys its cache on. Edits made to the
   * dataset's objects directly do not count.
   */
  changes = 0;

  /** Re-index on the next read (after the dataset's Maps were replaced wholesale, e.g. a restore). */
  invalidate(): void {
    this.changes += 1;
    this.indexedWps = -1;
    this.indexedAtts = -1;
  }

  /** The attachment id sequence as a database restored from a backup has it: one past the largest id present. */
  resetAttachmentSequence(): void {
    let max = 0;
    for (const id of this.dataset.attachments.keys()) if (id > max) max = id;
    this.nextAttachmentId = max + 1;
  }

  /** All work package ids, ascending. */
  sortedIds(): readonly number[] {
    this.reindex();
    return this.ids;
  }

  /** The attachments of a work package, by id (checked against the container link, in case it was edited). */
  attachmentsOf(wpId: number): AttachmentJson[] {
    this.reindex();
    const out: AttachmentJson[] = [];
    for (const id of this.byContainer.get(wpId) ?? []) {
      const a = this.dataset.attachments.get(id);
      if (a && containerIdOf(a.meta) === wpId) out.push(a.meta);
    }
    return out;
  }

  /** Server clock, strictly increasing (by 1 ms), as OpenProject renders it ('Z', `stampDigits` digits). */
  stamp(): string {
    this.changes += 1;
    const t = Math.max(this.clock().getTime(), this.lastStamp + 1);
    this.lastStamp = t;
    return cutStamp(new Date(t).toISOString(), this.stampDigits);
  }

  /** An edit of the work package itself: a new updatedAt and lockVersion. */
  private touch(wpId: number, at = this.stamp()): void {
    const wp = this.dataset.workPackages.get(wpId);
    if (!wp) return;
    wp.updatedAt = at;
    wp.lockVersion = Number(wp.lockVersion ?? 0) + 1;
  }

  /**
   * An attachment added to or removed from a work package: only `updatedAt` moves
   * (app/services/attachments/touch_container.rb: `update_column(:updated_at, …)`), the
   * lockVersion stays, so a client cannot see attachment changes in lockVersion.
   */
  private touchContainer(wpId: number, at = this.stamp()): void {
    const wp = this.dataset.workPackages.get(wpId);
    if (wp) wp.updatedAt = at;
  }

  updateWorkPackage(id: number, change: (wp: WorkPackageJson) => void): void {
    const wp = this.dataset.workPackages.get(id);
    if (!wp) throw new Error(`simulator: no work package ${id}`);
    change(wp);
    // The schema link follows project and type, as on the real server.
    const p = linkIdOf(wp, 'project');
    const t = linkIdOf(wp, 'type');
    if (p !== null && t !== null) wp._links.schema = { href: `/api/v3/work_packages/schemas/${p}-${t}` };
    this.touch(id);
  }

  /**
   * One transaction editing many work packages (a bulk edit, a migration): every one gets
   * the same new `updatedAt` and its lockVersion + 1.
   */
  bulkUpdate(ids: readonly number[], change: (wp: WorkPackageJson) => void): string {
    for (const id of ids) if (!this.dataset.workPackages.has(id)) throw new Error(`simulator: no work package ${id}`);
    const at = this.stamp();
    for (const id of ids) {
      const wp = this.dataset.workPackages.get(id)!;
      change(wp);
      const p = linkIdOf(wp, 'project');
      const t = linkIdOf(wp, 'type');
      if (p !== null && t !== null) wp._links.schema = { href: `/api/v3/work_packages/schemas/${p}-${t}` };
      this.touch(id, at);
    }
    return at;
  }

  addWorkPackage(wp: WorkPackageJson, attachments: { meta: AttachmentJson; content: Buffer }[] = []): void {
    this.dataset.workPackages.set(wp.id, wp);
    for (const a of attachments) {
      if (containerIdOf(a.meta) === null) {
        a.meta._links = { ...((a.meta._links as JsonObject | undefined) ?? {}), container: { href: `/api/v3/work_packages/${wp.id}`, title: (wp.subject as Json) ?? null } };
      }
      this.dataset.attachments.set(a.meta.id, { meta: a.meta, content: a.content });
      this.nextAttachmentId = Math.max(this.nextAttachmentId, a.meta.id + 1);
    }
    this.invalidate();
  }

  deleteWorkPackage(id: number): void {
    for (const a of this.attachmentsOf(id)) this.dataset.attachments.delete(a.id);
    this.dataset.workPackages.delete(id);
    this.invalidate();
  }

  addAttachment(workPackageId: number, meta: Partial<AttachmentJson> & { fileName: string }, content: Buffer): AttachmentJson {
    const wp = this.dataset.workPackages.get(workPackageId);
    if (!wp) throw new Error(`simulator: no work package ${workPackageId}`);
    const id = typeof meta.id === 'number' ? meta.id : this.nextAttachmentId;
    if (this.dataset.attachments.has(id)) throw new Error(`simulator: attachment ${id} exists`);
    this.nextAttachmentId = Math.max(this.nextAttachmentId, id + 1);
    const ext = /\.([^.]+)$/.exec(meta.fileName)?.[1]?.toLowerCase() ?? '';
    // One server transaction: the attachment's createdAt is the container's new updatedAt.
    const at = this.stamp();
    // Server-computed fields (id, size, digest) win over whatever the caller passed.
    const { _links: extraLinks, id: _id, fileName: _name, fileSize: _size, digest: _digest, ...rest } = meta;
    const full: AttachmentJson = {
      _type: 'Attachment',
      id,
      fileName: meta.fileName,
      fileSize: content.length,
      contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      digest: { algorithm: 'md5', hash: md5(content) },
      description: { format: 'plain', raw: '', html: '' },
      status: 'uploaded',
      createdAt: at,
      ...rest,
      _links: {
        self: { href: `/api/v3/attachments/${id}`, title: meta.fileName },
        author: (wp._links.author as Json) ?? { href: null },
        container: { href: `/api/v3/work_packages/${workPackageId}`, title: (wp.subject as Json) ?? null },
        staticDownloadLocation: { href: `/api/v3/attachments/${id}/content` },
        downloadLocation: { href: `/api/v3/attachments/${id}/content` },
        ...((extraLinks as JsonObject | undefined) ?? {}),
      },
    };
    if (full.status === 'prepared') full.digest = { algorithm: 'md5', hash: '' };
    this.dataset.attachments.set(id, { meta: full, content });
    this.invalidate();
    this.touchContainer(workPackageId, at);
    return full;
  }

  deleteAttachment(id: number): void {
    const a = this.dataset.attachments.get(id);
    if (!a) return;
    this.dataset.attachments.delete(id);
    this.invalidate();
    const c = containerIdOf(a.meta);
    if (c !== null) this.touchContainer(c);
  }

  /** A status change (upload finished, scan done, quarantine): the container is not touched, like the scan job. */
  setAttachmentStatus(id: number, status: AttachmentStatus): void {
    const a = this.dataset.attachments.get(id);
    if (!a) throw new Error(`simulator: no attachment ${id}`);
    a.meta.status = status;
    // A prepared attachment has no file yet, so no digest (an empty one, as rendered).
    a.meta.digest = { algorithm: 'md5', hash: status === 'prepared' ? '' : md5(this.bytes(a.content)) };
  }

  setAttachmentContent(id: number, content: Buffer): void {
    const a = this.dataset.attachments.get(id);
    if (!a) throw new Error(`simulator: no attachment ${id}`);
    a.content = content;
    a.meta.fileSize = content.length;
    a.meta.digest = { algorithm: 'md5', hash: md5(content) };
  }

  bytes(content: Buffer | LazyContent): Buffer {
    return contentBytes(content);
  }
}
