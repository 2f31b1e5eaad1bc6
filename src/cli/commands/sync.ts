// `curate sync`: flags → config → runSync → report. Returns the exit status.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadConfig } from '../../config/load.js';
import { inBatches } from '../../output/writer.js';
import { createProfile } from '../../mapping/profiles/index.js';
import { hasChanges, renderDiff, renderPatch, renderPlanSummary, runSync, type SyncReport } from '../../sync/index.js';
import { clientFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { memoryPolicy } from '../memory.js';
import { commitFiles, commitMessage } from '../git.js';
import type { Output } from '../output.js';

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

async function writePatch(report: SyncReport, target: string): Promise<void> {
  const stream = target === '-' ? process.stdout : createWriteStream(target);
  for await (const line of renderPatch(report)) {
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
  }
  if (stream !== process.stdout) {
    stream.end();
    await once(stream, 'finish');
  }
}

/**
 * The `--json` report, in pieces: the same text as `JSON.stringify(report, null, 2)`, but
 * the list of changes (20,000 entries on a cold sync) is written entry by entry rather
 * than built as one string.
 */
export function* jsonReportChunks(report: SyncReport, exitCode: number): Generator<string> {
  const prop = (key: string, value: unknown, indent = '  '): string => `${indent}${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`)}`;
  yield `{\n${[prop('exitCode', exitCode), prop('dryRun', report.dryRun), prop('applied', report.applied), prop('counts', report.counts)].join(',\n')},\n  "changes": [`;
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

async function writeJsonReport(report: SyncReport, exitCode: number): Promise<void> {
  for (const batch of inBatches(jsonReportChunks(report, exitCode))) {
    if (!process.stdout.write(batch)) await once(process.stdout, 'drain');
  }
}

export async function syncCommand(flags: SyncFlags, out: Output): Promise<number> {
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
    out.error('error: --concurrency must be an integer from 1 to 64');
    return EXIT.USAGE;
  }
  const config = await loadConfig({ configPath: flags.config, overrides: { out: flags.out, now: flags.now, insecureHttp: flags.insecureHttp, concurrency } });
  const dryRun = !!flags.dryRun || flags.patch !== undefined;
  const profile = createProfile(config.profile.name, config.profile.options);
  const client = clientFor(config.openproject);
  const memory = memoryPolicy();
  out.start(dryRun ? 'planning (dry run)…' : 'syncing…');
  let report: SyncReport;
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
      maxAttachmentBytes: config.openproject.maxAttachmentBytes,
      concurrency: config.openproject.concurrency,
      onEvent: (e) => {
        out.onEvent(e);
        memory(e);
      },
    });
  } catch (e) {
    out.stop(false, 'sync failed');
    throw e;
  } finally {
    await client.close();
  }
  try {
    const changed = hasChanges(report.plan);
    const failed = report.errors.length > 0;
    const exitCode = failed ? EXIT.ERROR : dryRun && changed ? EXIT.CHANGES : EXIT.OK;
    const c = report.counts.total;
    out.stop(!failed, `${dryRun ? 'dry run' : 'sync'} ${failed ? `finished with ${report.errors.length} error(s)` : 'done'}: ${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged (${report.requests.total} requests, ${report.timings.totalMs} ms)`);
    if (flags.patch !== undefined) {
      await writePatch(report, flags.patch);
      if (flags.patch !== '-') out.info(`patch written to ${flags.patch} (apply with: git apply ${flags.patch})`);
    }
    if (out.flags.json) {
      await writeJsonReport(report, exitCode);
    } else if (flags.patch !== '-') {
      if (!out.flags.quiet) for (const line of renderPlanSummary(report.plan, { maxFiles: out.flags.verbose ? Infinity : 50 })) out.result(line);
      if (dryRun && changed && !out.flags.quiet) for await (const line of renderDiff(report, { color: out.color })) out.result(line);
    }
    for (const e of report.errors) out.error(`failed: ${e.message}`);
    if (flags.gitCommit && !dryRun && !failed) {
      const message = commitMessage(c, report.counts.bySource);
      const id = await commitFiles(config.outputRoot, report.touchedFiles, message);
      out.info(id ? `committed ${id.slice(0, 12)}: ${message.split('\n')[0]}` : 'nothing to commit');
    }
    return exitCode;
  } finally {
    await report.dispose();
  }
}
