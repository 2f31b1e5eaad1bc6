// The map phase, fed by the listing as pages arrive: each work package handed over is
// processed (attachments, the profile's map, staged files) on the scheduler, and its
// outcome recorded in the ledger. What it produced (desired files, unchanged attachments
// not at hand) is collected for the planner.
import { AttachmentNotReadyError, PayloadError } from '../errors.js';
import { DEFAULTS } from '../defaults.js';
import { TornShardError } from '../output/manifest.js';
import type { Staging } from '../output/staging.js';
import { DesiredTable } from '../plan/desired.js';
import type { Attachment, WorkPackage } from '../types.js';
import { refKey } from './closure.js';
import type { ResolvedSource } from './collect.js';
import type { FactsBook, Remappable } from './facts.js';
import type { Ledger } from './ledger.js';
import type { Membership } from './membership.js';
import type { PreviousState } from './previous-state.js';
import { isAttachmentFailure, processWorkPackage, type ProcessContext, type Processed } from './process.js';
import { changesFrom, rowKey } from './recheck.js';
import type { RunContext } from './run-context.js';
import type { RunSources } from './run-sources.js';
import { createScheduler, type Scheduler } from './scheduler.js';

export interface Mapper {
  /** Hands a work package to processing; `again` maps it with what is in hand (facts.ts). */
  schedule(src: ResolvedSource, wp: WorkPackage, again?: () => Promise<Processed>): void;
  /** Every row received, changed or not: other pages may show its facts (facts.ts). */
  saw(wp: WorkPackage): void;
  /** Pages mapped this run that showed other work packages' facts: how to map each again. */
  readonly againOf: ReadonlyMap<number, Remappable>;
  /** How a page records the source of a work package it links to (closure.ts `refKey`; null: no source syncs it). */
  refOf(id: number): string | null;
  scheduler: Scheduler;
  /**
   * Files of the work packages mapped so far, those of each one's latest mapping only: a
   * page mapped again (facts.ts), or a row that came from two sources' listings because it
   * moved between them during the run, wants what its last mapping wants, as its entry
   * records (the ledger keeps the last).
   */
  desired(): DesiredTable;
  /** Drops, in place, the desired files of the work packages `keep` refuses (those that failed since they were mapped). */
  retain(keep: (workPackageId: number) => boolean): void;
  /** Desired paths whose bytes are an unchanged attachment not downloaded this run. */
  readonly cached: Map<string, Attachment>;
  readonly maxBytes: number;
  /**
   * An instant (ms, the server's clock) no later than any edit made to the source's rows
   * after this run began reading them (recheck.ts `changesFrom`).
   */
  rowsReadFrom(source: string): number;
  /** The row (`updatedAt lockVersion`) a work package mapped this run was mapped from, if at or after its source's rowsReadFrom. */
  mappedRow(id: number): string | undefined;
  /** Once planned: the desired files are the plan's (it reads them from their table), the cached attachments are dropped. */
  release(): void;
}

export function createMapper(
  ctx: RunContext,
  deps: {
    previous: PreviousState;
    ledger: Ledger;
    staging: Staging;
    sources: RunSources;
    membership: Membership;
    facts: FactsBook;
    /** Looks at a mapped work package's new and old paths ahead of the plan (tree.ts). */
    lookAhead: (paths: Iterable<string>) => void;
  },
): Mapper {
  const { options } = ctx;
  const { previous, ledger, sources, membership, facts } = deps;
  const refOf = (id: number): string | null => {
    const name = membership.sourceOf(id);
    const fingerprint = name === undefined ? undefined : sources.fingerprints.get(name);
    return fingerprint === undefined ? null : refKey(name!, fingerprint);
  };
  const processing: ProcessContext = {
    client: options.client,
    profile: options.profile,
    staging: deps.staging,
    projects: sources.projects,
    now: options.now,
    maxBytes: options.maxAttachmentBytes ?? DEFAULTS.maxAttachmentBytes,
    sourceOf: (id) => {
      const name = membership.sourceOf(id);
      return name === undefined ? undefined : sources.specByName.get(name);
    },
    refOf,
    factsOf: (id) => facts.answer(id),
    checkpoint: ctx.checkpoint,
    emit: ctx.emit,
  };
  // Work packages are processed 4× as wide as the client's requests: each spends most of
  // its time waiting for them.
  const scheduler = createScheduler((options.concurrency ?? DEFAULTS.concurrency) * 4, options.signal);
  let desired = new DesiredTable();
  /** For work packages mapped more than once this run: where their latest mapping's files start in `desired`. */
  const latestFrom = new Map<number, number>();
  const cached = new Map<string, Attachment>();
  const againOf = new Map<number, Remappable>();
  const machineStart = ctx.clock().getTime();
  const readFrom = new Map<string, number>();
  const rowsReadFrom = (name: string): number => {
    let from = readFrom.get(name);
    if (from === undefined) {
      const stored = previous.source(name)?.watermark;
      from = changesFrom({ date: sources.walkStart?.getTime() ?? null, watermark: stored ? Date.parse(stored) : null, machine: machineStart });
      readFrom.set(name, from);
    }
    return from;
  };
  // Only rows as new as the bound: what recheck.ts compares are rows changed since, and a
  // row mapped from before the bound differs from any of them (a cold sync holds none).
  const mappedRows = new Map<number, string>();
  const schedule = (src: ResolvedSource, wp: WorkPackage, again?: () => Promise<Processed>): void => {
    facts.saw(wp);
    scheduler.run(async () => {
      const name = src.spec.name;
      try {
        if (!again) await previous.loadFor([wp.id]);
        const r = again ? await again() : await processWorkPackage(processing, src.spec, wp, previous.entry(wp.id));
        if (ledger.outcome(wp.id)?.kind === 'mapped') latestFrom.set(wp.id, desired.length);
        for (const d of r.desired) desired.push(d);
        for (const [p, a] of r.cached) cached.set(p, a);
        if (r.again) againOf.set(wp.id, { src, wp, again: r.again });
        else againOf.delete(wp.id);
        ledger.mapped(name, wp.id, r.entry);
        if (ledger.outcome(wp.id)?.kind === 'mapped') {
          if (Date.parse(wp.updatedAt) >= rowsReadFrom(name)) mappedRows.set(wp.id, rowKey(wp));
          else mappedRows.delete(wp.id);
          deps.lookAhead(r.desired.map((d) => d.path));
          deps.lookAhead(Object.keys(previous.entry(wp.id)?.files ?? {}));
        }
      } catch (e) {
        // An abort is not the work package's fault: it ends the run, not just this item; nor
        // is a shard of the state that is not the one manifest.json describes (the run
        // starts again reading everything, run.ts).
        if (ctx.isAborted() || e instanceof TornShardError) throw e;
        if (e instanceof AttachmentNotReadyError) {
          // Not an error: the upload is unfinished or the virus scan pending, which does not
          // touch updatedAt, so the retry list brings it back until the file is there.
          ledger.deferred(name, wp.id);
          ctx.warn(`${e.message}; its last good files are kept and it is tried again on the next run`);
        } else {
          const kind = e instanceof PayloadError ? 'payload' : isAttachmentFailure(e) ? 'attachment' : 'mapping';
          ledger.failed({ kind, source: name, workPackageId: wp.id, message: (e as Error).message });
        }
      }
    });
  };
  const release = (): void => {
    desired = new DesiredTable(16);
    latestFrom.clear();
    cached.clear();
  };
  const latest = (): DesiredTable => {
    if (!latestFrom.size) return desired;
    // Compacted once: later calls (the tree, then the plan) see the same table.
    desired.retain((i) => i >= (latestFrom.get(desired.workPackageId(i)) ?? 0));
    latestFrom.clear();
    return desired;
  };
  const retain = (keep: (workPackageId: number) => boolean): void => {
    const table = latest();
    table.retain((i) => keep(table.workPackageId(i)));
  };
  return {
    schedule,
    saw: (wp) => facts.saw(wp),
    againOf,
    refOf,
    scheduler,
    desired: latest,
    retain,
    cached,
    maxBytes: processing.maxBytes,
    rowsReadFrom,
    mappedRow: (id) => mappedRows.get(id),
    release,
  };
}
