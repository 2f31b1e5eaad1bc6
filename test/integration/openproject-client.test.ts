// Issue 2: the client against the simulator over real HTTP.
import { describe, expect, it } from 'vitest';
import { OpenProjectError } from '../../src/errors.js';
import { FULL_PAGE_ROWS } from '../../src/openproject/client.js';
import { createOpenProjectClient } from '../../src/openproject/index.js';
import type { Attachment, WorkPackage } from '../../src/types.js';
import { renameCustomField, requestHooks } from '../../src/simulator/hooks.js';
import { generateDataset, loadDataset, startSimulator, type FaultSpec } from '../../src/simulator/index.js';
import { FIXTURE_DATASET } from '../helpers/env.js';

const KEY = 'opapi-client-test-key-91c2';

function memorySink() {
  const chunks: Buffer[] = [];
  let opens = 0;
  return {
    opens: () => opens,
    bytes: () => Buffer.concat(chunks),
    open() {
      opens++;
      chunks.length = 0;
      return { write: (c: Uint8Array) => void chunks.push(Buffer.from(c)), end: () => undefined, abort: () => void (chunks.length = 0) };
    },
  };
}

async function readAll(client: ReturnType<typeof createOpenProjectClient>, q = {}): Promise<WorkPackage[]> {
  const all: WorkPackage[] = [];
  for await (const page of client.listWorkPackages(q)) all.push(...page.workPackages);
  return all;
}

describe('listing work packages', () => {
  it('reads every work package of a 1,200-item dataset in pages of FULL_PAGE_ROWS (5 list requests), closed ones included', async () => {
    const sim = await startSimulator({ dataset: generateDataset({ workPackages: 1200, seed: 3 }), apiKey: KEY });
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const all = await readAll(client);
      expect(all).toHaveLength(1200);
      expect(new Set(all.map((w) => w.id)).size).toBe(1200);
      expect(sim.counts().byRoute.work_packages).toBe(Math.ceil(1200 / FULL_PAGE_ROWS));
      const closed = all.filter((w) => w.status.name === 'Published');
      expect(closed.length).toBeGreaterThan(100);
      // Every list request carried an explicit filters parameter (absent = open only).
      expect(sim.log().filter((l) => l.route === 'work_packages').every((l) => l.path.includes('filters='))).toBe(true);
      // Without one, a real server (and the simulator) drops the closed ones.
      const res = await fetch(`${sim.url}/api/v3/work_packages?pageSize=1000`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(((await res.json()) as { total: number }).total).toBe(1200 - closed.length - all.filter((w) => w.status.name === 'Rejected').length);
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('excludes decoy types by filter, resolves custom fields by name, keeps absent ≠ null', async () => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const types = await client.listTypes();
      const wanted = types.filter((t) => t.name !== 'Task' && t.name !== 'Bug').map((t) => t.id);
      const all = await readAll(client);
      const filtered = await readAll(client, { typeIds: wanted });
      expect(all.some((w) => w.type.name === 'Task' || w.type.name === 'Bug')).toBe(true);
      expect(filtered.some((w) => w.type.name === 'Task' || w.type.name === 'Bug')).toBe(false);
      expect(filtered.length).toBe(all.length - 3);
      const names = new Set(filtered.flatMap((w) => w.customFields.map((c) => c.field.name)));
      expect(names).toContain('Clean URL');
      expect([...names].some((n) => /^customField\d+$/.test(n))).toBe(false);
      const ids = await client.listWorkPackageIds({ typeIds: wanted });
      expect(ids.ids).toEqual(filtered.map((w) => w.id).sort((a, b) => a - b));
      // A work package carrying fewer custom-field keys than its schema lists them as absent.
      const raw = [...sim.dataset.workPackages.values()];
      for (const w of filtered) {
        const json = raw.find((r) => r.id === w.id)!;
        const keys = Object.keys(json).filter((k) => /^customField\d+$/.test(k));
        expect(w.customFields.map((c) => `customField${c.field.id}`)).toEqual(keys);
      }
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('incremental reads ask the updatedAt range', async () => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET });
    const client = createOpenProjectClient({ baseUrl: sim.url });
    try {
      const id = [...sim.dataset.workPackages.keys()][0]!;
      const since = new Date(Date.now() - 1000).toISOString();
      sim.updateWorkPackage(id, (w) => void (w.subject = 'changed'));
      const changed = await readAll(client, { updatedSince: since });
      expect(changed.map((w) => w.id)).toEqual([id]);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('schemas read in bulk beside a listing (issue 22)', () => {
  // A targeted sync asks for its rows beside the bulk schemas read. A page answered first
  // must still show the names that read brings (the names the run compares with the
  // state's): here the field is renamed as the listing arrives and back before the schemas
  // are answered, so the page's own embedded schema holds a name the server no longer has.
  it('a list page answered while the bulk schemas read is in flight is normalized with that read\'s names', async () => {
    const sim = await startSimulator({ dataset: await loadDataset(FIXTURE_DATASET), apiKey: KEY });
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, backoffBaseMs: 2, maxBackoffMs: 50 });
    try {
      const wp = [...sim.dataset.workPackages.values()].find((w) => typeof w.customField1 === 'string')!;
      const key = String((wp._links.schema as { href: string }).href).split('/').pop()!;
      const original = sim.dataset.instance.customFields.find((f) => f.id === 1)!.name;
      const hooks = requestHooks(sim);
      hooks.at('work_packages', 1, () => renameCustomField(sim, 1, `${original} (for a moment)`));
      hooks.at('schemas', 2, () => renameCustomField(sim, 1, original));
      // The first schemas request is refused (503, Retry-After 1 s): the listing is answered meanwhile.
      sim.inject({ route: 'schemas', kind: 'status', status: 503, times: 1, retryAfter: 1 });
      const schemas = client.listSchemaFields([key]);
      const rows: WorkPackage[] = [];
      for await (const page of client.listWorkPackages({ ids: [wp.id] })) rows.push(...page.workPackages);
      expect((await schemas).get(key)!.find((d) => d.id === 1)!.name).toBe(original);
      expect(sim.log().find((l) => l.route === 'work_packages')!.endMs!).toBeLessThan(sim.log().filter((l) => l.route === 'schemas').at(-1)!.startMs);
      expect(rows.map((w) => w.customFields.find((c) => c.field.id === 1)?.field.name)).toEqual([original]);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('attachments', () => {
  it('a download redirected to another origin carries no credentials and is verified', async () => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY, downloads: 'redirect' });
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY });
    try {
      const wp = [...sim.dataset.workPackages.values()].find((w) => [...sim.dataset.attachments.values()].some((a) => (a.meta._links as { container: { href: string } }).container.href.endsWith(`/${w.id}`)))!;
      const atts: Attachment[] = await client.listAttachments(wp.id);
      expect(atts.length).toBeGreaterThan(0);
      for (const att of atts) {
        const sink = memorySink();
        const r = await client.downloadAttachment(att, sink);
        expect(r.bytes).toBe(att.fileSize);
        expect(sink.bytes().equals(sim.dataset.attachments.get(att.id)!.content as Buffer)).toBe(true);
      }
      const storage = sim.log().filter((l) => l.origin === 'storage');
      expect(storage).toHaveLength(atts.length);
      expect(storage.every((l) => !l.authorization && l.status === 200)).toBe(true);
      expect(sim.log().filter((l) => l.route === 'content').every((l) => l.authorization)).toBe(true);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('faults are retried and the result equals a fault-free read', () => {
  const cases: [string, FaultSpec][] = [
    ['500', { kind: 'status', status: 500, times: 2 }],
    ['503 + Retry-After', { kind: 'status', status: 503, retryAfter: 0, times: 2 }],
    ['429 + Retry-After', { kind: 'status', status: 429, retryAfter: 0, times: 2 }],
    ['429 + RateLimit-Reset', { kind: 'status', status: 429, rateLimitReset: 0, times: 2 }],
    ['connection reset', { kind: 'reset', times: 2 }],
    ['stall past the timeout', { kind: 'stall', stallMs: 2000, times: 1 }],
    ['truncated download', { kind: 'truncate', route: 'content', times: 2 }],
    ['corrupted download', { kind: 'corrupt', route: 'content', times: 2 }],
    ['HTML instead of JSON', { kind: 'html', route: 'work_packages', times: 1 }],
  ];
  it.each(cases)('%s', async (_name, fault) => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
    const events: string[] = [];
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: KEY, backoffBaseMs: 1, timeoutMs: 500, onRequest: (e) => events.push(JSON.stringify(e)) });
    try {
      const clean = await readAll(client);
      const att = (await client.listAttachments(clean.find((w) => w.id === 380)?.id ?? clean[0]!.id))[0]!;
      const cleanSink = memorySink();
      await client.downloadAttachment(att, cleanSink);
      const retriesBefore = client.stats().retries;
      sim.inject(fault);
      const again = await readAll(client);
      const sink = memorySink();
      await client.downloadAttachment(att, sink);
      expect(again).toEqual(clean);
      expect(sink.bytes().equals(cleanSink.bytes())).toBe(true);
      expect(client.stats().retries).toBeGreaterThan(retriesBefore);
      expect(events.join('\n')).not.toContain(KEY);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('clear errors', () => {
  it('401: names the request and what to check, never the key', async () => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET, apiKey: KEY });
    const client = createOpenProjectClient({ baseUrl: sim.url, apiKey: `${KEY}-wrong` });
    try {
      const e = await client.listProjects().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenProjectError);
      expect((e as OpenProjectError).status).toBe(401);
      expect((e as OpenProjectError).errorIdentifier).toBe('Unauthenticated');
      expect((e as Error).message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/api\/v3\/projects.*401.*OPENPROJECT_API_KEY/);
      expect((e as Error).message).not.toContain(KEY);
      expect(sim.log()).toHaveLength(1); // not retried
    } finally {
      await client.close();
      await sim.close();
    }
  });

  it('404: names the resource', async () => {
    const sim = await startSimulator({ dataset: FIXTURE_DATASET });
    const client = createOpenProjectClient({ baseUrl: sim.url });
    try {
      const e = await client.listAttachments(999999).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenProjectError);
      expect((e as Error).message).toMatch(/\/api\/v3\/work_packages\/999999\/attachments → 404 \[NotFound\]/);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
