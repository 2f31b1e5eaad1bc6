// `curate sync`: flags → config → runSync → report. Returns the exit status.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/load.js';
import { readEntries } from '../../output/manifest.js';
import { inBatches } from '../../output/writer.js';
import { loadProfile } from '../../mapping/profiles/load.js';
import { changedFiles, filesOf, hasChanges, renderDiff, renderPlanSummary, runSync, type SyncReport } from '../../sync/index.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { downloadCacheDir, withDownloadCache } from '../download-cache.js';
import { memoryPolicy } from '../memory.js';
import { commitOwned, preflightCommit, readAtHead, type CommitOutcome } from '../git.js';
import { pageCommitMessage } from '../pages.js';
import { syncSummary } from '../summary.js';
import { failureReport, sortFailures, type Failure } from '../failures.js';
import type { Output } from '../output.js';
import { applyCommand, patchBase, writePatch } from '../patch.js';
import { stdoutClosed, writeStdout } from '../stdout.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from '../write-file.js';

export interface SyncFlags {
  config?: string;
  out?: string;
  now?: string;
  dryRun?: boolean;
  patch?: string;
  full?: boolean;
  allowMassDelete?: boolean;
  gitCommit?: boolean;
  insecureHttp?: boolean;
  concurrency?: string;
  summary?: string;
}

/**
 * The `--json` report, in pieces: the same text as `JSON.stringify(report, null, 2)`, but
 * the list of changes (20,000 entries on a cold sync) is written entry by entry rather
 * than built as one string.
 */
export function* jsonReportChunks(report: SyncReport, exitCode: number, error?: { code: string; message: string }, extra: Record<string, unknown> = {}): Generator<string> {
  const prop = (key: string, value: unknown, indent = '  '): string => `${indent}${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`)}`;
  yield `{\n${[prop('version', VERSION), prop('exitCode', exitCode), ...(error ? [prop('error', error)] : []), prop('dryRun', report.dryRun), prop('applied', report.applied), prop('counts', report.counts)].join(',\n')},\n  "changes": [`;
  let first = true;
  for (const f of changedFiles(filesOf(report.plan))) {
    const change = { path: f.path, action: f.action, source: f.source, workPackageId: f.workPackageId, ...(f.renamedFrom ? { renamedFrom: f.renamedFrom } : {}) };
    yield `${first ? '\n' : ',\n'}    ${JSON.stringify(change, null, 2).replace(/\n/g, '\n    ')}`;
    first = false;
  }
  yield first ? '],\n' : '\n  ],\n';
  const rest: [string, unknown][] = [
    ['errors', sortFailures(report.errors)],
    ['warnings', report.warnings],
    ['timings', report.timings],
    ['state', report.state],
    ['requests', report.requests],
    ['watermarks', report.watermarks],
    // With --git-commit: the commit made (null: nothing differed from HEAD).
    ...Object.entries(extra),
    // Taken last, so it includes the run itself (the report being written is small).
    ['maxRssBytes', process.resourceUsage().maxRSS * 1024],
  ];
  yield `${rest.map(([k, v]) => prop(k, v)).join(',\n')}\n}\n`;
}

async function writeJsonReport(report: SyncReport, exitCode: number, error?: { code: string; message: string }, extra: Record<string, unknown> = {}): Promise<void> {
  for (const batch of inBatches(jsonReportChunks(report, exitCode, error, extra))) {
    if (stdoutClosed()) return;
    await writeStdout(batch);
  }
}

/**
 * Titles of failed work packages the engine did not name, for the failure list: at
 * most 20 lookups, given up after 3 s (the list must not wait on a failing server).
 */
async function titlesOf(failures: readonly Failure[], client: ReturnType<typeof clientFor>): Promise<Map<number, string>> {
  const titles = new Map<number, string>();
  const ids = [...new Set(failures.filter((f) => f.workPackageId !== undefined && !f.title).map((f) => f.workPackageId!))].slice(0, 20);
  if (!ids.length) return titles;
  const lookups = Promise.all(
    ids.map(async (id) => {
      const wp = await client.getWorkPackage(id).catch(() => null);
      if (wp) titles.set(id, wp.subject);
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([lookups, new Promise((r) => (timer = setTimeout(r, 3000)))]);
  clearTimeout(timer);
  return titles;
}

/** A page of the site (what `--summary` names by its title). */
const isPageFile = (rel: string): boolean => /\.(md|markdown)$/i.test(rel);

/** The first bytes (the frontmatter) of each file, read synchronously: called just before apply deletes any. */
function snapshotHeads(outputRoot: string, files: readonly string[], into: Map<string, Buffer>): void {
  const buf = Buffer.alloc(64 * 1024);
  for (const f of files) {
    let fd: number | null = null;
    try {
      fd = openSync(path.join(outputRoot, ...f.split('/')), 'r');
      into.set(f, Buffer.from(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))));
    } catch {
      /* gone already: its title is unknown */
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }
}

/** The work packages a run's item errors name. */
const failedIds = (report: SyncReport): Set<number> => new Set(report.errors.flatMap((e) => (e.workPackageId === undefined ? [] : [e.workPackageId])));

/**
 * Of `ids`, the work packages the state gives files (after a real run it is the new state;
 * a dry run's is the old), reading only their shards. Undefined when unreadable.
 */
async function idsWithFiles(outputRoot: string, ids: Iterable<number>): Promise<Set<number> | undefined> {
  try {
    const entries = await readEntries(outputRoot, ids);
    return new Set([...(entries ?? [])].filter(([, w]) => Object.keys(w.files).length > 0).map(([id]) => id));
  } catch {
    return undefined;
  }
}

export async function syncCommand(flags: SyncFlags, out: Output, signal?: AbortSignal): Promise<number> {
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
    out.error('error: --concurrency must be an integer from 1 to 64');
    return EXIT.USAGE;
  }
  if (flags.summary === '-' && (out.flags.json || flags.patch === '-')) {
    out.error(`error: --summary - and ${out.flags.json ? '--json' : '--patch -'} both want stdout; write the summary to a file (--summary FILE)`);
    return EXIT.USAGE;
  }
  const config = await loadConfig({ configPath: flags.config, overrides: { out: flags.out, now: flags.now, insecureHttp: flags.insecureHttp, concurrency } });
  const dryRun = !!flags.dryRun || flags.patch !== undefined;
  // Checked before anything is fetched or written: committing is the point of the run, and
  // a commit that fails after applying would leave the files uncommitted until the next run.
  if (flags.gitCommit && !dryRun) await preflightCommit(config.outputRoot);
  const base = flags.patch !== undefined ? await patchBase(config.outputRoot) : null;
  const profile = await loadProfile(config.profile.name, config.profile.options);
  // The interrupt cancels the client's requests too: a slow answer must not hold a stopping run.
  // Verified downloads are kept between runs (a dry run, then the real one; a Ctrl-C, then the next).
  const cache = withDownloadCache(clientFor(config.openproject, process.env, undefined, signal), downloadCacheDir());
  const client = cache.client;
  const memory = memoryPolicy();
  // --summary of a real run names the pages it deletes: the heads of those the plan deletes
  // are read just before apply removes them (a dry run reads them from disk afterwards).
  // Only those: reading every owned page and the whole state cost a no-change run of
  // 30,000 work packages ~1 s and ~65 MB (docs/performance.md, twelfth session).
  const readsDeleted = flags.summary !== undefined && !dryRun;
  const deletedHeads = new Map<string, Buffer>();
  out.start(dryRun ? 'planning (dry run)' : 'syncing');
  let report: SyncReport;
  let titles = new Map<number, string>();
  try {
    report = await runSync({
      outputRoot: config.outputRoot,
      sources: config.sources,
      profile,
      client,
      now: config.now,
      dryRun,
      full: flags.full,
      allowMassDelete: flags.allowMassDelete,
      deleteThreshold: config.sync.deleteThreshold,
      overlapSeconds: config.sync.overlapSeconds,
      auditIntervalMs: config.sync.auditHours * 3_600_000,
      maxAttachmentBytes: config.openproject.maxAttachmentBytes,
      concurrency: config.openproject.concurrency,
      signal,
      onEvent: (e) => {
        if (e.type === 'deleting' && readsDeleted) snapshotHeads(config.outputRoot, e.paths.filter(isPageFile), deletedHeads);
        out.onEvent(e);
        memory(e);
      },
    });
    await cache.finish({ applied: report.applied, failedWorkPackages: failedIds(report) });
    if (report.errors.length && (!out.flags.json || flags.summary !== undefined)) titles = await titlesOf(report.errors, client);
  } catch (e) {
    out.stopProgress();
    throw e;
  } finally {
    // Closing waits for requests in flight; an interrupted run does not wait for a slow server.
    if (signal?.aborted) void client.close().catch(() => undefined);
    else await client.close();
  }
  try {
    out.stopProgress();
    const changed = hasChanges(report.plan);
    const failed = report.errors.length > 0;
    // A dry run the brake would stop: the plan is shown, and the status is the one the
    // refused real run gives (a script running `--dry-run` first learns the same thing).
    const refused = report.refused;
    const c = report.counts.total;
    const withFiles = failed ? await idsWithFiles(config.outputRoot, failedIds(report)) : undefined;
    // The summary is built before committing: a deleted page's title may still be at HEAD.
    const summaryText =
      flags.summary === undefined ? null : await syncSummary(report, { outputRoot: config.outputRoot, openprojectUrl: config.openproject.url, titles, withFiles, readDeleted: async (rel) => deletedHeads.get(rel) ?? readAtHead(config.outputRoot, rel) });
    // What was applied is committed even when some items failed: they kept their last good
    // files, so the tree is consistent. Every owned file that differs from HEAD is
    // committed, so files an earlier run left uncommitted are committed now.
    let commit: CommitOutcome | null = null;
    let commitError: Error | null = null;
    if (flags.gitCommit && !dryRun) {
      try {
        commit = await commitOwned(config.outputRoot, { touched: report.touchedFiles, message: (pages, leftovers) => pageCommitMessage(pages, { failed: report.errors.length, leftovers }) });
      } catch (e) {
        commitError = e as Error;
      }
    }
    const exitCode = failed || refused || commitError ? EXIT.ERROR : dryRun && changed ? EXIT.CHANGES : EXIT.OK;
    // The same words as the plan ("N to create") before applying, past tense after.
    const counts = dryRun
      ? `${c.create} to create, ${c.update} to update, ${c.delete} to delete, ${c.unchanged} unchanged`
      : `${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged`;
    const summary = `${dryRun ? 'dry run' : 'sync'} ${failed ? `finished with ${report.errors.length} failed item(s)` : commitError ? 'applied, not committed' : 'done'}: ${counts} (${report.requests.total} requests, ${(report.timings.totalMs / 1000).toFixed(1)} s)${dryRun ? '; nothing written' : ''}${refused ? '; a real run would be refused (mass-delete brake)' : ''}`;
    if (flags.patch !== undefined) await writePatch(report, flags.patch, base!);
    if (out.flags.json) {
      const n = report.errors.length;
      const error = refused
        ? { code: 'SAFETY', message: `a real run would be refused: ${refused}` }
        : commitError
          ? { code: 'OUTPUT', message: commitError.message }
          : failed
            ? { code: 'ITEMS_FAILED', message: `${n} item${n === 1 ? '' : 's'} failed; the rest was ${dryRun ? 'planned' : 'applied'}` }
            : undefined;
      const committed = flags.gitCommit && !dryRun ? { commit: commit?.id ? { id: commit.id, subject: commit.message!.split('\n')[0]!, files: commit.files.length, leftovers: commit.leftovers, pages: commit.pages.length } : null } : {};
      await writeJsonReport(report, exitCode, error, committed);
    } else if (flags.patch !== '-' && flags.summary !== '-') {
      if (!out.flags.quiet) for (const line of renderPlanSummary(report.plan, { maxFiles: out.flags.verbose ? Infinity : 50 })) out.result(line);
      // With --patch FILE the diff is in the file; the terminal gets the summary only.
      if (flags.dryRun && flags.patch === undefined && changed && !out.flags.quiet) {
        for await (const line of renderDiff(report, { color: out.color })) {
          if (stdoutClosed()) break;
          await out.resultAsync(line);
        }
      }
    }
    if (summaryText !== null) {
      if (flags.summary === '-') {
        if (!stdoutClosed()) await writeStdout(summaryText);
      } else await writeFileAtomic(flags.summary!, summaryText);
    }
    for (const line of failureReport(report.errors, { verbose: out.flags.verbose, titles, withFiles })) out.error(line);
    if (refused) out.error(`error: a real run would be refused: ${refused}`);
    if (flags.patch !== undefined && flags.patch !== '-' && changed) out.info(`patch written to ${flags.patch}; apply it with: ${applyCommand(flags.patch, base!)}`);
    else if (flags.patch !== undefined && flags.patch !== '-') out.info(`patch written to ${flags.patch} (empty: nothing to change)`);
    if (commitError && !out.flags.json) out.error(`error: ${commitError.message}`);
    else if (commit?.id) out.info(`committed ${commit.id.slice(0, 12)}: ${commit.message!.split('\n')[0]} (${commit.files.length} file${commit.files.length === 1 ? '' : 's'}${commit.leftovers ? `, ${commit.leftovers} of them left uncommitted by earlier runs` : ''})`);
    else if (flags.gitCommit && !dryRun) out.info('nothing to commit: every file curate owns matches HEAD');
    out.done(!failed && !refused && !commitError, summary);
    return exitCode;
  } finally {
    await report.dispose();
  }
}
