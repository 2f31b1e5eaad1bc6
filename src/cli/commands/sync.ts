// `curate sync`: flags → config → runSync → report. Returns the exit status.
import { loadConfig } from '../../config/load.js';
import { inBatches } from '../../output/writer.js';
import { loadProfile } from '../../mapping/profiles/load.js';
import { hasChanges, renderDiff, renderPlanSummary, runSync, type SyncReport } from '../../sync/index.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { memoryPolicy } from '../memory.js';
import { assertInWorkTree, commitFiles, commitMessage } from '../git.js';
import { failureReport, type Failure } from '../failures.js';
import type { Output } from '../output.js';
import { applyCommand, patchBase, writePatch } from '../patch.js';
import { stdoutClosed, writeStdout } from '../stdout.js';
import { VERSION } from '../version.js';

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
}

/**
 * The `--json` report, in pieces: the same text as `JSON.stringify(report, null, 2)`, but
 * the list of changes (20,000 entries on a cold sync) is written entry by entry rather
 * than built as one string.
 */
export function* jsonReportChunks(report: SyncReport, exitCode: number, error?: { code: string; message: string }): Generator<string> {
  const prop = (key: string, value: unknown, indent = '  '): string => `${indent}${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`)}`;
  yield `{\n${[prop('version', VERSION), prop('exitCode', exitCode), ...(error ? [prop('error', error)] : []), prop('dryRun', report.dryRun), prop('applied', report.applied), prop('counts', report.counts)].join(',\n')},\n  "changes": [`;
  let first = true;
  for (const f of report.plan.files) {
    if (f.action === 'unchanged') continue;
    const change = { path: f.path, action: f.action, source: f.source, workPackageId: f.workPackageId, ...(f.renamedFrom ? { renamedFrom: f.renamedFrom } : {}) };
    yield `${first ? '\n' : ',\n'}    ${JSON.stringify(change, null, 2).replace(/\n/g, '\n    ')}`;
    first = false;
  }
  yield first ? '],\n' : '\n  ],\n';
  const rest: [string, unknown][] = [
    ['errors', report.errors],
    ['warnings', report.warnings],
    ['timings', report.timings],
    ['requests', report.requests],
    ['watermarks', report.watermarks],
    // Taken last, so it includes the run itself (the report being written is small).
    ['maxRssBytes', process.resourceUsage().maxRSS * 1024],
  ];
  yield `${rest.map(([k, v]) => prop(k, v)).join(',\n')}\n}\n`;
}

async function writeJsonReport(report: SyncReport, exitCode: number, error?: { code: string; message: string }): Promise<void> {
  for (const batch of inBatches(jsonReportChunks(report, exitCode, error))) {
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

export async function syncCommand(flags: SyncFlags, out: Output, signal?: AbortSignal): Promise<number> {
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
    out.error('error: --concurrency must be an integer from 1 to 64');
    return EXIT.USAGE;
  }
  const config = await loadConfig({ configPath: flags.config, overrides: { out: flags.out, now: flags.now, insecureHttp: flags.insecureHttp, concurrency } });
  const dryRun = !!flags.dryRun || flags.patch !== undefined;
  // Checked before anything is fetched or written: committing is the point of the run.
  if (flags.gitCommit && !dryRun) await assertInWorkTree(config.outputRoot);
  const base = flags.patch !== undefined ? await patchBase(config.outputRoot) : null;
  const profile = await loadProfile(config.profile.name, config.profile.options);
  // The interrupt cancels the client's requests too: a slow answer must not hold a stopping run.
  const client = clientFor(config.openproject, process.env, undefined, signal);
  const memory = memoryPolicy();
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
        out.onEvent(e);
        memory(e);
      },
    });
    if (report.errors.length && !out.flags.json) titles = await titlesOf(report.errors, client);
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
    const exitCode = failed || refused ? EXIT.ERROR : dryRun && changed ? EXIT.CHANGES : EXIT.OK;
    const c = report.counts.total;
    // The same words as the plan ("N to create") before applying, past tense after.
    const counts = dryRun
      ? `${c.create} to create, ${c.update} to update, ${c.delete} to delete, ${c.unchanged} unchanged`
      : `${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged`;
    const summary = `${dryRun ? 'dry run' : 'sync'} ${failed ? `finished with ${report.errors.length} failed item(s)` : 'done'}: ${counts} (${report.requests.total} requests, ${(report.timings.totalMs / 1000).toFixed(1)} s)${dryRun ? '; nothing written' : ''}${refused ? '; a real run would be refused (mass-delete brake)' : ''}`;
    if (flags.patch !== undefined) await writePatch(report, flags.patch, base!);
    if (out.flags.json) {
      const n = report.errors.length;
      const error = refused
        ? { code: 'SAFETY', message: `a real run would be refused: ${refused}` }
        : failed
          ? { code: 'ITEMS_FAILED', message: `${n} item${n === 1 ? '' : 's'} failed; the rest was ${dryRun ? 'planned' : 'applied'}` }
          : undefined;
      await writeJsonReport(report, exitCode, error);
    } else if (flags.patch !== '-') {
      if (!out.flags.quiet) for (const line of renderPlanSummary(report.plan, { maxFiles: out.flags.verbose ? Infinity : 50 })) out.result(line);
      // With --patch FILE the diff is in the file; the terminal gets the summary only.
      if (flags.dryRun && flags.patch === undefined && changed && !out.flags.quiet) {
        for await (const line of renderDiff(report, { color: out.color })) {
          if (stdoutClosed()) break;
          await out.resultAsync(line);
        }
      }
    }
    for (const line of failureReport(report.errors, { verbose: out.flags.verbose, titles })) out.error(line);
    if (refused) out.error(`error: a real run would be refused: ${refused}`);
    if (flags.patch !== undefined && flags.patch !== '-' && changed) out.info(`patch written to ${flags.patch}; apply it with: ${applyCommand(flags.patch, base!)}`);
    else if (flags.patch !== undefined && flags.patch !== '-') out.info(`patch written to ${flags.patch} (empty: nothing to change)`);
    // What was applied is committed even when some items failed: they kept their last good
    // files, so the tree is consistent, and files left uncommitted now would never be
    // committed by a later run (it commits only the files it touches).
    if (flags.gitCommit && !dryRun) {
      const message = commitMessage(c, report.counts.bySource, report.errors.length);
      const id = await commitFiles(config.outputRoot, report.touchedFiles, message);
      out.info(id ? `committed ${id.slice(0, 12)}: ${message.split('\n')[0]}` : 'nothing to commit');
    }
    out.done(!failed && !refused, summary);
    return exitCode;
  } finally {
    await report.dispose();
  }
}
