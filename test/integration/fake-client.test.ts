// The in-memory fake client (test/helpers/fake-client.ts) is only worth its speed while it
// hands the engine what the HTTP client hands it: same work packages (custom fields resolved
// by schema), same id listings with authors, same attachments and bytes, and so the same
// tree. Checked here against the real client talking HTTP to the real simulator, on both
// profiles' datasets and after edits, so a drift in either fails one named test.
import { describe, expect, it } from 'vitest';
import { createProfile } from '../../src/mapping/profiles/index.js';
import type { DownloadSink, OpenProjectClient, WorkPackageQuery } from '../../src/openproject/types.js';
import { cloneDataset, renameCustomField, renameUser } from '../../src/simulator/hooks.js';
import { loadDataset } from '../../src/simulator/index.js';
import { runSync } from '../../src/sync/index.js';
import { createFakeClient } from '../helpers/fake-client.js';
import { diffTrees, FIXTURE_EXPECTED, LEGACY_NOW, medigyConfig, ROOT, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator, testClient } from '../helpers/sync-harness.js';
import path from 'node:path';

const same = { missing: [], extra: [], different: [] };

async function collect<T>(it: AsyncIterable<{ workPackages: T[] }>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of it) out.push(...page.workPackages);
  return out;
}

function memorySink(): { sink: DownloadSink; bytes: () => Buffer } {
  let chunks: Buffer[] = [];
  return {
    sink: { open: () => ((chunks = []), { write: (c: Uint8Array) => void chunks.push(Buffer.from(c)), end: () => undefined, abort: () => undefined }) },
    bytes: () => Buffer.concat(chunks),
  };
}

/** Everything the engine asks a client for one source query, in comparable form. */
async function answers(client: OpenProjectClient, q: WorkPackageQuery, since: string): Promise<unknown> {
  const all = await collect(client.listWorkPackages(q));
  const changes = await collect(client.listChanges(q, since));
  const ids = await client.listWorkPackageIds(q, { withAuthors: true });
  const first = all[0];
  const attachments = first ? await client.listAttachments(first.id) : [];
  const downloads: string[] = [];
  for (const a of attachments) {
    const m = memorySink();
    const r = await client.downloadAttachment(a, m.sink);
    downloads.push(`${a.id}:${r.bytes}:${r.md5}:${m.bytes().length}`);
  }
  return {
    all,
    changes: changes.map((wp) => wp.id),
    ids: ids.ids,
    authors: [...(ids.authors ?? new Map()).entries()].sort(),
    count: await client.countWorkPackages(q),
    byId: first ? await client.getWorkPackage(first.id) : null,
    gone: await client.getWorkPackage(987654321),
    attachments,
    downloads,
    projects: await client.listProjects(),
    types: await client.listTypes(),
    statuses: await client.listStatuses(),
  };
}

describe('the fake client answers as the HTTP client does', () => {
  it('every method, for every medigy source query, also after edits and renames', async () => {
    const sim = await startFixtureSimulator();
    const http = testClient(sim);
    const fake = createFakeClient(sim.dataset);
    try {
      const projects = await http.listProjects();
      const types = await http.listTypes();
      const { sources } = await medigyConfig();
      const queries: WorkPackageQuery[] = sources.map((s) => ({
        projectIds: s.projects.map((p) => projects.find((x) => x.identifier === p)!.id),
        typeIds: s.types.map((t) => types.find((x) => x.name === t)!.id),
      }));
      const sorted = [...sim.dataset.workPackages.keys()].sort((a, b) => a - b);
      queries.push({}, { ids: sorted.slice(0, 5) });
      const since = '2020-06-01T00:00:00Z';
      const check = async (when: string): Promise<void> => {
        // First the bulk schemas, as a run reads them first: the HTTP client keeps schemas for
        // its lifetime and only this request renews them (a renamed custom field).
        const keys = [...Object.keys(sim.dataset.instance.schemas), '99-99'];
        expect(await fake.listSchemaFields(keys), when).toEqual(await http.listSchemaFields(keys));
        for (const q of queries) expect(await answers(fake, q, since), `${when}: ${JSON.stringify(q)}`).toEqual(await answers(http, q, since));
      };
      await check('as loaded');
      const id = sorted[3]!;
      sim.updateWorkPackage(id, (wp) => {
        wp.subject = 'Edited for the fake';
      });
      sim.deleteWorkPackage(sorted[20]!);
      renameUser(sim, Number(/\d+$/.exec(String((sim.dataset.workPackages.get(id)!._links.author as { href: string }).href))![0]), 'Renamed Author');
      renameCustomField(sim, sim.dataset.instance.customFields[0]!.id, 'Renamed Field');
      await check('after edits');
    } finally {
      await http.close();
      await sim.close();
    }
  });

  it('a sync through it writes the legacy tree byte for byte (medigy), and the same tree as HTTP (default profile)', async () => {
    const sim = await startFixtureSimulator();
    const a = await tempDir();
    const b = await tempDir();
    const c = await tempDir();
    try {
      const fake = createFakeClient(cloneDataset(sim.dataset));
      const report = await medigySync(sim, a.dir, { client: fake });
      expect(report.errors).toEqual([]);
      expect(diffTrees(await treeHashes(a.dir), await treeHashes(FIXTURE_EXPECTED))).toEqual(same);

      // The default profile's dataset (custom fields of every format, a sub-path instance).
      const data = await loadDataset(path.join(ROOT, 'fixtures', 'default', 'dataset'));
      const { startSimulator } = await import('../../src/simulator/index.js');
      const simDefault = await startSimulator({ dataset: cloneDataset(data), apiKey: 'k' });
      const profile = createProfile('default', { openprojectUrl: 'http://openproject.example.com/openproject', tagsField: 'Tags', weightField: 'Position' });
      const sources = [
        { name: 'docs', projects: ['docs'], types: ['Page'], statuses: [], path: 'docs', options: {} },
        { name: 'blog', projects: ['blog'], types: ['News'], statuses: [], path: 'blog/posts', options: {} },
      ];
      const httpClient = testClient(simDefault, { apiKey: 'k' });
      try {
        const viaHttp = await runSync({ outputRoot: b.dir, sources, profile, client: httpClient, now: LEGACY_NOW });
        const viaFake = await runSync({ outputRoot: c.dir, sources, profile, client: createFakeClient(data), now: LEGACY_NOW });
        expect(viaFake.errors).toEqual(viaHttp.errors);
        expect((await treeHashes(c.dir)).size).toBeGreaterThan(10);
        expect(diffTrees(await treeHashes(c.dir), await treeHashes(b.dir))).toEqual(same);
      } finally {
        await httpClient.close();
        await simDefault.close();
      }
    } finally {
      await sim.close();
      await a.cleanup();
      await b.cleanup();
      await c.cleanup();
    }
  });
});
