// The --summary text (src/cli/summary.ts) for a run that changed more pages than a section
// shows: every page is counted, only the rows shown are read for their titles.
import { describe, expect, it } from 'vitest';
import { SUMMARY_ROWS_MAX, syncSummary } from '../../src/cli/summary.js';
import type { PlannedFile } from '../../src/plan/types.js';
import type { SyncReport } from '../../src/sync/index.js';

function coldReport(pages: number, reads: string[]): SyncReport {
  const files: PlannedFile[] = [];
  for (let id = 1; id <= pages; id++) {
    const base = `news/page-${id}`;
    files.push({ path: `${base}.md`, action: 'create', source: 'news', workPackageId: id, sha256: 'a', oldSha256: null, binary: false, content: { kind: 'staged', name: `text-${id}` } });
    files.push({ path: `${base}-featuredImage.jpeg`, action: 'create', source: 'news', workPackageId: id, sha256: 'b', oldSha256: null, binary: true, content: { kind: 'staged', name: `img-${id}` } });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const total = { create: files.length, update: 0, delete: 0, unchanged: 0, rename: 0 };
  return {
    plan: { files },
    applied: true,
    dryRun: false,
    refused: null,
    counts: { total, bySource: { news: total }, workPackages: { listed: pages, mapped: pages, skipped: 0, failed: 0, deferred: 0 } },
    errors: [],
    warnings: [],
    readNew: async (f: PlannedFile) => {
      reads.push(f.path);
      return Buffer.from(`---\ntitle: Page ${f.workPackageId}\n---\nbody\n`);
    },
    readOld: async () => null,
  } as unknown as SyncReport;
}

describe('--summary of a large run', () => {
  it(`counts every page, lists the first ${SUMMARY_ROWS_MAX} by id, and reads only those`, async () => {
    const reads: string[] = [];
    const pages = SUMMARY_ROWS_MAX * 3 + 7;
    const text = await syncSummary(coldReport(pages, reads), { outputRoot: '/site/content', openprojectUrl: 'https://op.example' });
    expect(text).toContain(`**${pages} pages changed** (${pages} created).`);
    expect(text).toContain(`### Created (${pages})`);
    const rows = text.split('\n').filter((l) => /^\| Page \d+ \|/.test(l));
    expect(rows).toHaveLength(SUMMARY_ROWS_MAX);
    expect(rows[0]).toMatch(/^\| Page 1 \|.*\[#1\]\(https:\/\/op\.example\/work_packages\/1\) \|$/);
    expect(rows.at(-1)).toMatch(new RegExp(`^\\| Page ${SUMMARY_ROWS_MAX} \\|`));
    expect(text).toContain(`… and ${pages - SUMMARY_ROWS_MAX} more`);
    // One read per row shown, of its page file.
    expect(reads).toHaveLength(SUMMARY_ROWS_MAX);
    expect(reads.every((p) => p.endsWith('.md'))).toBe(true);
  });
});
