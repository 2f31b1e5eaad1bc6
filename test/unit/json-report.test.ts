// The streamed --json report is exactly the pretty-printed JSON of the same object.
import { describe, expect, it } from 'vitest';
import { jsonReportChunks } from '../../src/cli/commands/sync.js';
import { VERSION } from '../../src/cli/version.js';
import type { PlannedFile } from '../../src/plan/types.js';
import type { SyncReport } from '../../src/sync/index.js';

const file = (path: string, action: PlannedFile['action'], extra: Partial<PlannedFile> = {}): PlannedFile => ({ path, action, source: 's', workPackageId: 7, sha256: null, oldSha256: null, binary: false, ...extra });

function report(files: PlannedFile[]): SyncReport {
  return {
    plan: { files },
    applied: true,
    dryRun: false,
    counts: { total: { create: 1, update: 0, delete: 0, unchanged: 1, rename: 0 }, bySource: { s: { create: 1, update: 0, delete: 0, unchanged: 1, rename: 0 } }, workPackages: { listed: 2, mapped: 1, skipped: 1, failed: 0, deferred: 0 } },
    errors: [{ kind: 'mapping', source: 's', workPackageId: 9, message: 'a "quoted"\nmessage' }],
    warnings: ['w'],
    timings: { totalMs: 1, fetchMs: 1, applyMs: 0 },
    state: { shards: 1, shardsRead: 0, entriesParsed: 0, foldersListed: 0, foldersTrusted: 0 },
    requests: { total: 3, byRoute: { projects: 1 }, bytes: 10, retries: 0 },
    watermarks: { s: null },
    touchedFiles: [],
    ownedIds: () => new Set([7]),
    readOld: () => Promise.resolve(null),
    readNew: () => Promise.resolve(null),
    dispose: () => Promise.resolve(),
  };
}

describe('--json report', () => {
  for (const [name, files] of [
    ['no changes', [file('a.md', 'unchanged')]],
    ['changes and a rename', [file('a.md', 'unchanged'), file('b/ü.md', 'create', { renamedFrom: 'b/old.md' }), file('b/old.md', 'delete'), file('c.png', 'update', { binary: true })]],
  ] as const) {
    it(`${name}: the same text as JSON.stringify(…, null, 2)`, () => {
      const r = report([...files]);
      const error = { code: 'ITEMS_FAILED', message: '1 item failed; the rest was applied' };
      const text = [...jsonReportChunks(r, 1, error)].join('');
      const parsed = JSON.parse(text) as { maxRssBytes: number };
      const expected = {
        version: VERSION,
        exitCode: 1,
        error,
        dryRun: r.dryRun,
        applied: r.applied,
        counts: r.counts,
        changes: files.filter((f) => f.action !== 'unchanged').map((f) => ({ path: f.path, action: f.action, source: f.source, workPackageId: f.workPackageId, ...('renamedFrom' in f && f.renamedFrom ? { renamedFrom: f.renamedFrom } : {}) })),
        errors: r.errors,
        warnings: r.warnings,
        timings: r.timings,
        state: r.state,
        requests: r.requests,
        watermarks: r.watermarks,
        maxRssBytes: parsed.maxRssBytes,
      };
      expect(parsed.maxRssBytes).toBeGreaterThan(0);
      expect(text).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    });
  }
});
