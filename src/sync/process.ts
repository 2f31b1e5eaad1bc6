// One work package: its attachments (downloaded to staging, or reused from the manifest's
// cache when md5 and size are unchanged) → probes → the profile's pure `map` → rendered
// files staged. Throws on any failure; the caller records the outcome in the ledger.
import { readFile } from 'node:fs/promises';
import { CurateError } from '../errors.js';
import { probeImage } from '../mapping/image-probe.js';
import type { OpenProjectClient } from '../openproject/types.js';
import type { ManifestWorkPackage } from '../output/manifest.js';
import { unsafePathReason } from '../output/paths.js';
import type { Staging } from '../output/staging.js';
import type { DesiredFile } from '../plan/plan.js';
import type { Attachment, ContentProbe, MappedDocument, ProbedAttachment, Profile, Project, SourceSpec, WorkPackage } from '../types.js';
import { rowDigest } from './closure.js';
import type { SyncEvent } from './events.js';
import { refWithFacts, splitRef, type FactsAnswer } from './facts.js';

const ATTACHMENT_FAILURE = Symbol('attachment failure');
/** Marks an error as an attachment's (listing or download) without touching its message, for ItemError.kind. */
function attachmentFailure(e: unknown): unknown {
  if (e && typeof e === 'object') (e as Record<symbol, boolean>)[ATTACHMENT_FAILURE] = true;
  return e;
}
export const isAttachmentFailure = (e: unknown): boolean => !!e && typeof e === 'object' && (e as Record<symbol, boolean>)[ATTACHMENT_FAILURE] === true;

export interface ProcessContext {
  client: OpenProjectClient;
  profile: Profile;
  staging: Staging;
  projects: ReadonlyMap<number, Project>;
  now: Date;
  maxBytes: number;
  /** Source name of each work package this run syncs (for MapContext.sourceOf). */
  sourceOf(id: number): SourceSpec | undefined;
  /** How a page records that answer (closure.ts `refKey`; null: no source syncs it). */
  refOf(id: number): string | null;
  /** Another work package's shown facts, as known now (facts.ts). */
  factsOf(id: number): FactsAnswer;
  checkpoint(): void;
  emit(e: SyncEvent): void;
}

export interface Processed {
  entry: ManifestWorkPackage;
  desired: DesiredFile[];
  /** Desired paths whose bytes are an unchanged attachment not downloaded this run (path → attachment). */
  cached: Map<string, Attachment>;
  /**
   * Maps the same row again with the attachments already in hand (no request), for a page
   * that showed other work packages' facts: the engine calls it when their final facts differ.
   */
  again?: () => Promise<Processed>;
}

export async function processWorkPackage(ctx: ProcessContext, source: SourceSpec, wp: WorkPackage, old: ManifestWorkPackage | undefined): Promise<Processed> {
  ctx.checkpoint();
  const project = ctx.projects.get(wp.project.id);
  if (!project) throw new CurateError('MAPPING', `work package #${wp.id}: project #${wp.project.id} is not visible`);
  const attachments = await ctx.client.listAttachments(wp.id).catch((e: unknown) => Promise.reject(attachmentFailure(e)));
  const probed: ProbedAttachment[] = [];
  const staged = new Map<number, { name: string; sha256: string }>();
  const entry: ManifestWorkPackage = {
    source: source.name,
    updatedAt: wp.updatedAt,
    lockVersion: wp.lockVersion,
    digest: rowDigest(wp),
    files: {},
    attachments: {},
  };
  await Promise.all(
    attachments.map(async (att) => {
      const use = ctx.profile.attachmentUse(att, wp);
      if (!use) return;
      const cached = old?.attachments[String(att.id)];
      if (use !== 'json' && cached && att.md5 !== null && cached.md5 === att.md5 && cached.size === att.fileSize) {
        probed.push({ attachment: att, use, probe: cached.probe as ContentProbe });
        entry.attachments[String(att.id)] = cached;
        return;
      }
      ctx.checkpoint();
      const sink = ctx.staging.sink();
      const result = await ctx.client.downloadAttachment(att, sink, { maxBytes: ctx.maxBytes }).catch((e: unknown) => Promise.reject(attachmentFailure(e)));
      ctx.emit({ type: 'download', attachmentId: att.id, bytes: result.bytes });
      const { file, name, sha256: digest, head } = sink.result();
      staged.set(att.id, { name, sha256: digest });
      let probe: ContentProbe;
      if (use === 'image') probe = probeImage(head);
      else if (use === 'file') probe = { kind: 'file' };
      else {
        try {
          const bytes = result.bytes <= head.length ? head : await readFile(file);
          probe = { kind: 'json', value: JSON.parse(bytes.toString('utf8')) as unknown };
        } catch (e) {
          probe = { kind: 'json-invalid', error: (e as Error).message };
        }
      }
      probed.push({ attachment: att, use, probe });
      if (probe.kind === 'image' || probe.kind === 'file') entry.attachments[String(att.id)] = { md5: result.md5, size: result.bytes, sha256: digest, probe };
    }),
  );
  probed.sort((a, b) => a.attachment.id - b.attachment.id);
  const render = async (): Promise<Processed> => {
    const out = await mapAndStage(ctx, source, wp, old, { ...entry, files: {}, attachments: { ...entry.attachments } }, probed, attachments, staged);
    return out.askedFacts ? { ...out.processed, again: render } : out.processed;
  };
  return render();
}

/** `profile.map` with its MapContext, then the rendered files staged: one mapping of a row whose attachments are in hand. */
async function mapAndStage(
  ctx: ProcessContext,
  source: SourceSpec,
  wp: WorkPackage,
  old: ManifestWorkPackage | undefined,
  entry: ManifestWorkPackage,
  probed: ProbedAttachment[],
  attachments: Attachment[],
  staged: ReadonlyMap<number, { name: string; sha256: string }>,
): Promise<{ processed: Processed; askedFacts: boolean }> {
  const project = ctx.projects.get(wp.project.id)!;
  // References are recorded as the answers given, so the engine can tell when one changes.
  const refs: Record<string, string | null> = {};
  const facts = new Map<number, string>();
  const doc: MappedDocument = ctx.profile.map({
    workPackage: wp,
    project,
    attachments: probed,
    allAttachments: attachments,
    source,
    now: ctx.now,
    context: {
      sourceOf: (id) => {
        refs[String(id)] = ctx.refOf(id);
        return ctx.sourceOf(id);
      },
      // Absent for a profile that promised never to ask (Profile.showsFacts): the run keeps no rows to answer from.
      ...(ctx.profile.showsFacts === false
        ? {}
        : {
            workPackageFacts: (id: number) => {
              const a = ctx.factsOf(id);
              facts.set(id, a.digest);
              return a.facts;
            },
          }),
      memory: old?.memory,
    },
  });
  for (const id of doc.references ?? []) if (!(String(id) in refs)) refs[String(id)] = ctx.refOf(id);
  // A target whose facts the page showed: its key carries their digest too (facts.ts).
  for (const [id, digest] of facts) refs[String(id)] = refWithFacts(refs[String(id)] ?? ctx.refOf(id), digest);
  if (Object.keys(refs).length) entry.refs = refs;
  if (doc.validFrom) entry.validFrom = doc.validFrom;
  if (doc.validUntil) entry.validUntil = doc.validUntil;
  if (doc.memory !== undefined) entry.memory = doc.memory;

  const desired: DesiredFile[] = [];
  const cachedPaths = new Map<string, Attachment>();
  for (const f of doc.files) {
    const reason = unsafePathReason(f.path);
    if (reason) throw new CurateError('MAPPING', `work package #${wp.id}: output path ${JSON.stringify(f.path)} ${reason}`);
    if (f.kind === 'text') {
      const s = await ctx.staging.putText(f.text);
      desired.push({ path: f.path, source: source.name, workPackageId: wp.id, binary: false, sha256: s.sha256, content: { kind: 'staged', name: s.name } });
      entry.files[f.path] = s.sha256;
      continue;
    }
    const s = staged.get(f.attachmentId);
    const cached = entry.attachments[String(f.attachmentId)];
    const att = attachments.find((a) => a.id === f.attachmentId);
    if (s) desired.push({ path: f.path, source: source.name, workPackageId: wp.id, binary: true, sha256: s.sha256, content: { kind: 'staged', name: s.name } });
    else if (cached && att) {
      desired.push({ path: f.path, source: source.name, workPackageId: wp.id, binary: true, sha256: cached.sha256, content: null });
      cachedPaths.set(f.path, att);
    } else throw new CurateError('MAPPING', `work package #${wp.id}: file ${f.path} refers to attachment #${f.attachmentId}, which was not selected`);
    entry.files[f.path] = s?.sha256 ?? cached!.sha256;
  }
  return { processed: { entry, desired, cached: cachedPaths }, askedFacts: facts.size > 0 };
}

/** Whether an entry's output is still valid at `now` (MappedDocument.validFrom / validUntil). */
export function validAt(entry: ManifestWorkPackage, now: Date): boolean {
  const t = now.getTime();
  if (entry.validFrom && t < Date.parse(entry.validFrom)) return false;
  if (entry.validUntil && t >= Date.parse(entry.validUntil)) return false;
  return true;
}

/**
 * Whether any reference recorded in an entry now resolves to a different source (or none, or
 * the same source configured differently). The facts digest some keys carry is not compared
 * here: those facts are final only after every walk (facts.ts `reconcileFacts`).
 */
export function referencesChanged(entry: { refs?: Record<string, string | null | false> | undefined }, refOf: (id: number) => string | null): boolean {
  for (const id in entry.refs ?? {}) {
    // false: a shard's summary whose pages recorded different keys, so one of them is stale.
    const recorded = entry.refs![id]!;
    if (recorded === false || refOf(Number(id)) !== splitRef(recorded).ref) return true;
  }
  return false;
}
