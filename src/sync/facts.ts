// Another work package's shown facts (subject, type and status names), for the pages that
// show them (the default profile's `##N` / `###N`), and how a run keeps those pages right
// (ARCHITECTURE.md, "A page's closure").
//
// A page asks while it is mapped (MapContext.workPackageFacts: synchronous, answered from
// what the run knows at that moment) and records what it was told, as a digest in its
// `refs` key. The answer can still change later in the run: the target's row may arrive in
// another source's walk after its dependent was mapped. So once every walk is done, each
// page (mapped this run or kept) whose recorded digest differs from the final answer is
// mapped again in the same run: an incremental run writes what a fresh one writes.
//
// Where the facts come from, cheapest first:
// - rows received this run (every walk hands them here, changed or not);
// - the manifest's `targets`, for a target a source still syncs and whose row did not come
//   back (unchanged since it was recorded: every changed row comes back in the walk); the
//   type and status names come from the lists every run reads, so a rename reaches the page
//   without a request;
// - for a target no source syncs (outside the config, not visible, deleted): the manifest's
//   record until the audit is due (no change signal exists for it), else the server: one
//   bulk listing by id filter per 100 ids, never one request per reference.
import { createHash } from 'node:crypto';
import type { OpenProjectClient } from '../openproject/types.js';
import type { ManifestTarget, ManifestWorkPackage } from '../output/manifest.js';
import { DEFAULTS } from '../defaults.js';
import type { NamedRef, WorkPackage, WorkPackageFacts } from '../types.js';
import type { ResolvedSource } from './collect.js';
import type { Ledger } from './ledger.js';
import type { Mapper } from './mapper.js';
import type { Membership } from './membership.js';
import type { PreviousState } from './previous-state.js';
import type { Processed } from './process.js';
import type { RunContext } from './run-context.js';
import type { RunSources } from './run-sources.js';

/** Ids per bulk request (each costs ~12 URL characters encoded; the same bound as the schemas). */
export const FACTS_CHUNK = 100;

/** A `refs` key's marker: what follows is the digest of the facts the page showed. */
const MARK = '~';
/** Digest of "not visible, or gone" (null facts). */
const NONE = '-';
/** Digest recorded when the facts were not known yet while mapping: never final, so the page is mapped again. */
export const PENDING = '?';

/** The answer a page got, and the digest it records. */
export interface FactsAnswer {
  facts: WorkPackageFacts | null;
  digest: string;
}

/** A `refs` key: `<source>@<fingerprint>` (or empty: no source), then `~<digest>` when the page showed the target's facts. */
export function refWithFacts(ref: string | null, digest: string): string {
  return `${ref ?? ''}${MARK}${digest}`;
}

/** The source part of a recorded `refs` key (null: none) and its facts digest (undefined: the page showed none). */
export function splitRef(recorded: string | null): { ref: string | null; digest: string | undefined } {
  if (recorded === null) return { ref: null, digest: undefined };
  const at = recorded.lastIndexOf(MARK);
  if (at < 0) return { ref: recorded, digest: undefined };
  const ref = recorded.slice(0, at);
  return { ref: ref === '' ? null : ref, digest: recorded.slice(at + 1) };
}

/**
 * Ids an entry references with facts (the ones whose digest must be checked). Also takes a
 * shard's summary, whose `false` (two pages recorded different keys) counts as facts shown.
 */
export function factRefs(entry: { refs?: Record<string, string | null | false> | undefined }): number[] {
  const out: number[] = [];
  for (const id in entry.refs ?? {}) {
    const recorded = entry.refs![id]!;
    if (recorded === false || splitRef(recorded).digest !== undefined) out.push(Number(id));
  }
  return out;
}

const digestOf = (f: WorkPackageFacts | null): string =>
  (f === null ? NONE : createHash('sha256').update(JSON.stringify([f.subject, f.type, f.status])).digest('hex').slice(0, 12));

interface Known {
  subject: string;
  type: NamedRef;
  status: NamedRef;
}

export interface FactsOptions {
  /** The manifest's record (`targets`) and when its outside targets were last read. */
  stored: Record<string, ManifestTarget | null> | undefined;
  storedReadAt: string | undefined;
  /** The lists this run read: names by id. */
  types: readonly NamedRef[];
  statuses: readonly NamedRef[];
  /** Whether a source of this config syncs the work package this run. */
  isSynced(id: number): boolean;
  /** Whether outside targets are read again this run (the audit is due, or --full). */
  auditDue: boolean;
  /**
   * Whether the rows listed are remembered (default: yes). A profile whose pages never show
   * facts (Profile.showsFacts false) asks for none, and a row's subject, type and status
   * kept for each of 100,000 work packages were ~15 MB of a run's heap.
   */
  rows?: boolean;
}

/** What the run knows of other work packages' facts. One per run. */
export class FactsBook {
  private readonly seen = new Map<number, Known>();
  /** Asked for by id and not returned: not visible or gone. */
  private readonly absent = new Set<number>();
  /** Ids whose bulk read failed this run. */
  private readonly failed = new Set<number>();
  private readonly typeNames: Map<number, string>;
  private readonly statusNames: Map<number, string>;
  /** Whether every outside target needed was read this run (the audit done). */
  private readAll = true;

  constructor(private readonly settings: FactsOptions) {
    this.typeNames = new Map(settings.types.map((t) => [t.id, t.name]));
    this.statusNames = new Map(settings.statuses.map((s) => [s.id, s.name]));
  }

  /** One object per distinct type or status link: a row's own copies would be kept for every work package seen. */
  private readonly refs = new Map<string, NamedRef>();
  private shared(ref: NamedRef): NamedRef {
    const key = `${ref.id}\u0000${ref.name}`;
    let r = this.refs.get(key);
    if (!r) this.refs.set(key, (r = { id: ref.id, name: ref.name }));
    return r;
  }

  /** A row received this run (any walk, by id, changed or not). */
  saw(wp: WorkPackage): void {
    if (this.settings.rows !== false) this.remember(wp);
  }

  private remember(wp: WorkPackage): void {
    this.seen.set(wp.id, { subject: wp.subject, type: this.shared(wp.type), status: this.shared(wp.status) });
    this.absent.delete(wp.id);
  }

  /** The stored record, when it still holds for this run (see the module comment). */
  private storedFor(id: number): ManifestTarget | null | undefined {
    const s = this.settings.stored?.[String(id)];
    if (s === undefined) return undefined;
    if (this.settings.isSynced(id)) return s !== null && !s.outside ? s : undefined;
    return (s === null || s.outside) && !this.settings.auditDue ? s : undefined;
  }

  /** Names from the lists read this run (the row's link title when the list lacks the id). */
  private named(subject: string, type: NamedRef, status: NamedRef): WorkPackageFacts {
    return { subject, type: this.typeNames.get(type.id) ?? type.name, status: this.statusNames.get(status.id) ?? status.name };
  }

  /** The answer now, or undefined when the facts are not known yet (read after the walks). */
  private known(id: number): WorkPackageFacts | null | undefined {
    const k = this.seen.get(id);
    if (k) return this.named(k.subject, k.type, k.status);
    if (this.absent.has(id)) return null;
    const s = this.storedFor(id);
    if (s === undefined) return undefined;
    return s === null ? null : this.named(s.subject, { id: s.type, name: '' }, { id: s.status, name: '' });
  }

  /** For MapContext: what is known now; a target not known yet reads as not visible and records PENDING. */
  answer(id: number): FactsAnswer {
    const f = this.known(id);
    return f === undefined ? { facts: null, digest: PENDING } : { facts: f, digest: digestOf(f) };
  }

  /** The final digest of a target after `settle`; undefined when its facts could not be read. */
  finalDigest(id: number): string | undefined {
    const f = this.known(id);
    return f === undefined ? undefined : digestOf(f);
  }

  /**
   * Reads the facts of every id not known yet: one listing by id filter per FACTS_CHUNK ids
   * (no project filter, an explicit filter list so the server's default "open only" does
   * not apply; invisible ids are dropped by the client). A failed read leaves its ids
   * unknown: the pages depending on them fail as items and are retried.
   *
   * OpenProject's id filter refuses a whole request for one id it cannot show (400; the
   * client then halves the chunk until it finds it): ids that were not visible last time
   * (`null` records, read again at the audit) are asked one by one with `readOne` instead,
   * one request each rather than about three, and kept out of the chunks of the others.
   */
  async settle(
    ids: Iterable<number>,
    read: (ids: number[]) => AsyncIterable<WorkPackage[]>,
    isAborted: () => boolean,
    readOne?: (id: number) => Promise<WorkPackage | null>,
  ): Promise<Error | null> {
    const need = [...new Set(ids)].filter((id) => this.known(id) === undefined && !this.failed.has(id)).sort((a, b) => a - b);
    const wasAbsent = readOne ? need.filter((id) => this.settings.stored?.[String(id)] === null) : [];
    const bulk = wasAbsent.length ? need.filter((id) => this.settings.stored?.[String(id)] !== null) : need;
    let error: Error | null = null;
    // In parallel: the client bounds the requests in flight.
    await Promise.all(
      wasAbsent.map(async (id) => {
        try {
          const wp = await readOne!(id);
          if (wp) this.remember(wp);
          else this.absent.add(id);
        } catch (e) {
          if (isAborted()) throw e;
          error ??= e as Error;
          this.readAll = false;
          this.failed.add(id);
        }
      }),
    );
    for (let i = 0; i < bulk.length; i += FACTS_CHUNK) {
      const chunk = bulk.slice(i, i + FACTS_CHUNK);
      const got = new Set<number>();
      try {
        for await (const rows of read(chunk)) for (const wp of rows) {
          this.remember(wp);
          got.add(wp.id);
        }
        for (const id of chunk) if (!got.has(id)) this.absent.add(id);
      } catch (e) {
        if (isAborted()) throw e;
        error ??= e as Error;
        this.readAll = false;
        for (const id of chunk) if (!got.has(id)) this.failed.add(id);
      }
    }
    return error;
  }

  /**
   * The manifest's record for the ids the next manifest's pages reference with facts: what
   * this run knows, else the previous record (a target whose read failed keeps it).
   */
  record(ids: Iterable<number>, clock: string): { targets: Record<string, ManifestTarget | null> | undefined; readAt: string | undefined } {
    const targets: Record<string, ManifestTarget | null> = {};
    let outside = false;
    for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
      const k = this.seen.get(id);
      let t: ManifestTarget | null | undefined;
      if (k) t = { subject: k.subject, type: k.type.id, status: k.status.id, ...(this.settings.isSynced(id) ? {} : { outside: true as const }) };
      else if (this.absent.has(id)) t = null;
      else t = this.settings.stored?.[String(id)];
      if (t === undefined) continue;
      targets[String(id)] = t;
      if (t === null || t.outside) outside = true;
    }
    if (!Object.keys(targets).length) return { targets: undefined, readAt: undefined };
    // Outside targets were all read this run (audit due, none failed): their bound starts again.
    const readAt = !outside ? undefined : this.settings.auditDue && this.readAll ? clock : (this.settings.storedReadAt ?? clock);
    return { targets, readAt };
  }
}

/** Whether outside targets are due to be read again: never read, `auditIntervalMs` passed, a clock set back, or --full. */
export function targetsAuditDue(readAt: string | undefined, clockMs: number, auditIntervalMs: number, full: boolean): boolean {
  if (full || readAt === undefined) return true;
  const t = Date.parse(readAt);
  return clockMs - t >= auditIntervalMs || t > clockMs + 60_000;
}

/** What reconciling needs from the run. */
export interface ReconcileContext {
  facts: FactsBook;
  /** Pages mapped this run that recorded references: id → those references. */
  mapped(): Iterable<[number, Pick<ManifestWorkPackage, 'refs'>]>;
  /** Called before each round: a run that read its state lazily reads the shards whose pages may be stale. */
  beforeRound?(): Promise<void>;
  /** Pages kept this run (and, in a targeted sync, pages it did not look at): id → previous entry. */
  kept(): Iterable<[number, ManifestWorkPackage]>;
  /** How a page records the source of a work package it links to (closure.ts `refKey`). */
  refOf(id: number): string | null;
  /** Reads the facts of these ids from the server (settle's `read`), and of one id (`readOne`). */
  read(ids: number[]): AsyncIterable<WorkPackage[]>;
  readOne?(id: number): Promise<WorkPackage | null>;
  /** Maps these pages again (rows in hand for pages mapped this run, read by id for kept ones); resolves when done. */
  remap(ids: number[]): Promise<void>;
  /** A page whose targets' facts could not be read: it fails as an item (its last good files stay; retried). */
  fail(id: number, message: string): void;
  isAborted(): boolean;
}

/** Rounds of mapping again: a page read by id in round 1 may itself be a target whose row changed. */
const MAX_ROUNDS = 4;

/**
 * After every walk: map again each page whose recorded facts differ from the final ones.
 * Returns the number of pages mapped again.
 */
export async function reconcileFacts(ctx: ReconcileContext): Promise<number> {
  let total = 0;
  const failedPages = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await ctx.beforeRound?.();
    const pages: [number, Pick<ManifestWorkPackage, 'refs'>][] = [];
    const targets = new Set<number>();
    for (const list of [ctx.mapped(), ctx.kept()] as Iterable<[number, Pick<ManifestWorkPackage, 'refs'>]>[]) {
      for (const [id, entry] of list) {
        const refs = factRefs(entry);
        if (!refs.length || failedPages.has(id)) continue;
        pages.push([id, entry]);
        refs.forEach((t) => targets.add(t));
      }
    }
    if (!pages.length) return total;
    const error = await ctx.facts.settle(targets, ctx.read, ctx.isAborted, ctx.readOne);
    const again: number[] = [];
    for (const [id, entry] of pages) {
      let stale = false;
      const unknown: number[] = [];
      for (const t of factRefs(entry)) {
        const digest = ctx.facts.finalDigest(t);
        if (digest === undefined) unknown.push(t);
        else if (refWithFacts(ctx.refOf(t), digest) !== entry.refs![String(t)]) stale = true;
      }
      if (unknown.length) {
        failedPages.add(id);
        ctx.fail(
          id,
          `work package #${id}: the subject, type and status of work package(s) ${unknown.map((t) => `#${t}`).join(', ')} it shows could not be read (its last good files are kept; it is retried on the next run): ${error?.message ?? 'unknown error'}`,
        );
      } else if (stale) again.push(id);
    }
    if (!again.length) return total;
    total += again.length;
    await ctx.remap(again.sort((a, b) => a - b));
  }
  return total;
}

/** A page mapped this run that showed facts: its row and how to map it again without a request. */
export interface Remappable {
  src: ResolvedSource;
  wp: WorkPackage;
  again: () => Promise<Processed>;
}

/** What the run hands to reconciling (sync/run.ts). */
export interface RunReconcile {
  facts: FactsBook;
  ledger: Ledger;
  previous: PreviousState;
  /** A targeted sync (`curate watch`): the pages it did not look at are checked too. */
  targeted: boolean;
  client: OpenProjectClient;
  sources: readonly ResolvedSource[];
  mapper: Mapper;
  checkpoint(): void;
  isAborted(): boolean;
}

/** reconcileFacts wired to a run: the ledger's pages, bulk reads through the client, mapping again through the mapper. */
export function reconcileInRun(r: RunReconcile): Promise<number> {
  const sourceByName = new Map(r.sources.map((s) => [s.spec.name, s]));
  const { mapper, ledger, previous } = r;
  const read = async function* (ids: number[]): AsyncIterable<WorkPackage[]> {
    for await (const page of r.client.listWorkPackages({ ids })) yield page.workPackages;
  };
  const readOne = (id: number): Promise<WorkPackage | null> => r.client.getWorkPackage(id);
  return reconcileFacts({
    facts: r.facts,
    mapped: () => ledger.mappedRefs(),
    // Shards the run did not read whose pages show a target as it no longer is (or whose
    // facts are not known): read, so their pages are checked one by one below.
    beforeRound: async () => {
      if (!previous.lazy) return;
      const unread = previous.unloadedShards();
      const targets = new Set(unread.flatMap((shard) => factRefs(previous.summary(shard)!)));
      if (!targets.size) return;
      await r.facts.settle(targets, read, r.isAborted, readOne);
      const stale = unread.filter((shard) =>
        Object.entries(previous.summary(shard)!.refs ?? {}).some(([t, recorded]) => {
          if (recorded === false) return true;
          const digest = splitRef(recorded).digest;
          if (digest === undefined) return false;
          const now = r.facts.finalDigest(Number(t));
          return now === undefined || refWithFacts(mapper.refOf(Number(t)), now) !== recorded;
        }),
      );
      await previous.load(stale);
    },
    *kept() {
      // A generator, so that entries are parsed one at a time; over the ids by index (see loadedIds).
      const ids = previous.loadedIds();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const kind = ledger.outcome(id)?.kind;
        // A targeted sync looks at no other page: those whose targets it read are brought up to date too.
        // Only pages that may record references matter here (a text shard whose summary has none is not parsed).
        if ((kind === 'kept' || (r.targeted && kind === undefined)) && previous.mayRecordRefs(id)) yield [id, previous.entry(id)!];
      }
    },
    refOf: mapper.refOf,
    read,
    readOne,
    remap: async (ids) => {
      // The new mapping's files replace those of the first (Mapper.desired).
      const byId = new Map<ResolvedSource, number[]>();
      for (const id of ids) {
        const a = mapper.againOf.get(id);
        if (a && ledger.outcome(id)?.kind === 'mapped') {
          mapper.schedule(a.src, a.wp, a.again);
          continue;
        }
        const src = sourceByName.get(previous.sourceOf(id) ?? '');
        if (src) byId.set(src, [...(byId.get(src) ?? []), id]);
      }
      // Kept pages: their rows are read by id. One that no longer matches its source (a
      // race with an edit) keeps its files; the next run decides it.
      for (const [src, list] of byId) {
        for (let i = 0; i < list.length; i += FACTS_CHUNK) {
          for await (const page of r.client.listWorkPackages({ ...src.query, ids: list.slice(i, i + FACTS_CHUNK) }))
            for (const wp of page.workPackages) mapper.schedule(src, wp);
        }
      }
      await mapper.scheduler.drained();
      r.checkpoint();
    },
    fail: (id, message) => {
      const oc = ledger.outcome(id);
      ledger.failed({ kind: 'mapping', source: oc?.source ?? previous.sourceOf(id) ?? '', workPackageId: id, message });
    },
    isAborted: r.isAborted,
  });
}

/** The run's book of other work packages' shown facts: the state's record, this run's lists, the audit rule. */
export function factsBookFor(ctx: RunContext, previous: PreviousState, sources: RunSources, membership: Membership): FactsBook {
  const { options } = ctx;
  return new FactsBook({
    stored: previous.manifest?.targets,
    storedReadAt: previous.manifest?.targetsReadAt,
    types: sources.types,
    statuses: sources.statuses,
    isSynced: (id) => membership.sourceOf(id) !== undefined,
    auditDue: targetsAuditDue(
      previous.manifest?.targetsReadAt,
      ctx.clock().getTime(),
      options.auditIntervalMs ?? DEFAULTS.auditHours * 3_600_000,
      (options.full ?? false) || previous.torn !== null,
    ),
    rows: options.profile.showsFacts !== false,
  });
}
