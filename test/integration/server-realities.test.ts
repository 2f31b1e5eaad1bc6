// Issue 19 failure 14: server realities a simulator written from the docs misses.
// - A server that answers `select=total,elements/id` with 400: the id listing and the
//   deletion check fall back to plain listings, and the client remembers it.
// - An instance under a sub-path (https://host/openproject): the fallback content link of an
//   attachment without `staticDownloadLocation` must keep the sub-path.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createOpenProjectClient, type DownloadSink } from '../../src/openproject/index.js';
import { diffTrees, tempDir, treeHashes } from '../helpers/env.js';
import { medigySync, startFixtureSimulator, testClient } from '../helpers/sync-harness.js';

function memorySink(): DownloadSink & { bytes(): Buffer } {
  let chunks: Buffer[] = [];
  return {
    open: () => ({
      write: (c: Uint8Array) => void chunks.push(Buffer.from(c)),
      end: () => undefined,
      abort: () => void (chunks = []),
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

/** A minimal OpenProject instance served under /openproject: one work package's attachments and their content. */
async function subPathInstance(attachmentLinks: Record<string, { href: string }>): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const content = Buffer.from('the attachment bytes\n');
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const hal = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/hal+json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/openproject/api/v3/work_packages/7/attachments') {
      return hal(200, {
        _type: 'Collection',
        total: 1,
        count: 1,
        _embedded: {
          elements: [
            {
              _type: 'Attachment',
              id: 901,
              fileName: 'report.pdf',
              fileSize: content.length,
              contentType: 'application/pdf',
              digest: { algorithm: 'md5', hash: createHash('md5').update(content).digest('hex') },
              createdAt: '2024-01-01T00:00:00Z',
              _links: { container: { href: '/openproject/api/v3/work_packages/7' }, ...attachmentLinks },
            },
          ],
        },
      });
    }
    if (req.url === '/openproject/api/v3/attachments/901/content') {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': content.length });
      return res.end(content);
    }
    hal(404, { _type: 'Error', errorIdentifier: 'urn:openproject-org:api:v3:errors:NotFound', message: 'The requested resource could not be found.' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/openproject`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe('an instance under a sub-path (issue 19 #14)', () => {
  it.each([
    ['without staticDownloadLocation (the fallback content route)', {}],
    ['with staticDownloadLocation (the server includes the sub-path)', { staticDownloadLocation: { href: '/openproject/api/v3/attachments/901/content' } }],
  ])('downloads an attachment %s under the sub-path', async (_what, links) => {
    const inst = await subPathInstance(links);
    const client = createOpenProjectClient({ baseUrl: inst.url, apiKey: 'k', retries: 0, timeoutMs: 2000 });
    try {
      const [att] = await client.listAttachments(7);
      const sink = memorySink();
      await client.downloadAttachment(att!, sink);
      expect(sink.bytes().toString()).toBe('the attachment bytes\n');
      expect(inst.requests).toContain('/openproject/api/v3/attachments/901/content');
      expect(inst.requests.some((r) => r.startsWith('/api/'))).toBe(false);
    } finally {
      await client.close();
      await inst.close();
    }
  });
});

describe('a server that refuses select (issue 19 #14)', () => {
  const selects = (paths: string[]): number => paths.filter((p) => /[?&]select=/.test(p)).length;

  it('syncs, confirms deletions and converges like a fresh sync; the refusal is learned once per client', async () => {
    const sim = await startFixtureSimulator({ refuseSelect: true });
    const { dir, cleanup } = await tempDir();
    const other = await tempDir();
    const client = testClient(sim);
    try {
      const first = await medigySync(sim, dir, { client });
      expect(first.errors).toEqual([]);
      expect(first.counts.total.create).toBeGreaterThan(40);
      const refused = sim.log().filter((r) => /[?&]select=/.test(r.path));
      // Each source's first listing may pay one refused request (they start together), plus
      // the one shared probe that tells a refused select from a refused filter; none more.
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThanOrEqual(7 + 1);
      expect(refused.every((r) => r.status === 400)).toBe(true);

      // A deleted work package (the deletion check is an id-filtered listing) and an edit.
      const ids = [...sim.dataset.workPackages.keys()].sort((a, b) => a - b);
      const victim = first.plan.files.find((f) => f.path.endsWith('.md'))!.workPackageId;
      sim.deleteWorkPackage(victim);
      const edited = ids.find((id) => id !== victim && first.plan.files.some((f) => f.workPackageId === id))!;
      sim.updateWorkPackage(edited, (w) => void (w.subject = 'Edited while select is refused'));
      sim.resetCounts();
      const before = sim.log().length;
      const second = await medigySync(sim, dir, { client });
      expect(second.errors).toEqual([]);
      expect(second.plan.files.some((f) => f.action === 'delete' && f.workPackageId === victim)).toBe(true);
      // Learned: the second run on the same client sends no select at all.
      expect(selects(sim.log().slice(before).map((r) => r.path))).toBe(0);

      // The fresh sync reads the same server (a second simulator would stamp the edit at
      // another millisecond, and the pages show updatedAt).
      await medigySync(sim, other.dir);
      expect(diffTrees(await treeHashes(dir), await treeHashes(other.dir))).toEqual({ missing: [], extra: [], different: [] });
    } finally {
      await client.close();
      await sim.close();
      await cleanup();
      await other.cleanup();
    }
  }, 60_000);

  it('a server that takes select: a 400 for a refused filter stands, after one shared probe per client; then no probe at all', async () => {
    const sim = await startFixtureSimulator();
    const client = testClient(sim, { retries: 0 });
    try {
      // Seven listings refused at once (a filter the server refuses): one probe for all of them.
      const refusedAtOnce = await Promise.all(Array.from({ length: 7 }, () => client.listWorkPackageIds({ projectIds: [999_999] }).then(() => null, (e: unknown) => e as Error)));
      for (const e of refusedAtOnce) expect(e?.message).toMatch(/400/);
      const log = sim.log();
      expect(log).toHaveLength(8);
      expect(log.filter((r) => r.status === 400)).toHaveLength(7);
      expect(selects(log.map((r) => r.path))).toBe(8);
      // Select is known to work now: a 400 is the query's own, one request.
      const n = sim.log().length;
      await expect(client.listWorkPackageIds({ projectIds: [999_999] })).rejects.toThrow(/400/);
      expect(sim.log().length - n).toBe(1);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('a server that answered the author select before', () => {
  it("a run whose state shows it (a source recorded authors) starts every source's id listing at once", async () => {
    const sim = await startFixtureSimulator({ latencyMs: 30 });
    const { dir, cleanup } = await tempDir();
    try {
      await medigySync(sim, dir);
      // The second run, a new client (as every CLI run is): its id listings with the author
      // select are asked before the first of them is answered, as many as the request slots
      // hold beside the three name requests asked first (8 - 3; the early listings of
      // sync/early-listings.ts start with the names), none waiting for another's first page.
      const before = sim.log().length;
      const second = await medigySync(sim, dir);
      expect(second.errors).toEqual([]);
      const listings = sim.log().slice(before).filter((r) => r.route === 'work_packages' && new URLSearchParams(r.path.split('?')[1]).get('select')?.includes('author'));
      expect(listings.length).toBeGreaterThanOrEqual(7);
      const firstAnswered = Math.min(...listings.map((r) => r.endMs!));
      expect(listings.filter((r) => r.startMs < firstAnswered).length).toBeGreaterThanOrEqual(5);
    } finally {
      await sim.close();
      await cleanup();
    }
  });
});
