// SimulatorOptions.cacheListings (the benchmarks' simulator): a listing answered from the
// cache is byte for byte the one a scan answers, before and after changes made through
// the simulator's methods.
import { describe, expect, it } from 'vitest';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';

const KEY = 'cache-test-key';

async function get(sim: Simulator, path: string): Promise<string> {
  const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `Basic ${Buffer.from(`apikey:${KEY}`).toString('base64')}` } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('simulator listing cache', () => {
  it('answers what a scan answers, and sees every change made through the simulator', async () => {
    const plain = await startSimulator({ dataset: generateDataset({ workPackages: 300, seed: 3 }), apiKey: KEY, clock: () => new Date('2021-02-19T00:00:00Z') });
    const cached = await startSimulator({ dataset: generateDataset({ workPackages: 300, seed: 3 }), apiKey: KEY, clock: () => new Date('2021-02-19T00:00:00Z'), cacheListings: true });
    const queries = [
      '/api/v3/work_packages?filters=[]&offset=2&pageSize=50&sortBy=[["id","asc"]]&select=total,elements/id',
      '/api/v3/work_packages?filters=[{"status":{"operator":"o","values":[]}}]&offset=1&pageSize=40&sortBy=[["id","asc"]]',
      '/api/v3/work_packages?filters=[{"updatedAt":{"operator":"<>d","values":["2020-01-01T00:00:00Z",""]}}]&offset=3&pageSize=30&sortBy=[["updatedAt","asc"],["id","asc"]]',
      '/api/v3/work_packages?filters=[{"updatedAt":{"operator":">t-","values":["400"]}}]&offset=1&pageSize=30&sortBy=[["id","asc"]]',
    ];
    // Changes walks from inside the data's range (the updatedAt index cuts there): an
    // instant, the same with microseconds, a date only, and both bounds.
    const stamps = [...plain.dataset.workPackages.values()].map((wp) => String(wp.updatedAt)).sort();
    const mid = stamps[Math.floor(stamps.length / 2)]!;
    for (const from of [mid, mid.replace(/(\.\d+)?Z$/, '.123456Z'), mid.slice(0, 10)]) {
      queries.push(`/api/v3/work_packages?filters=[{"updatedAt":{"operator":"<>d","values":["${from}",""]}}]&offset=1&pageSize=40&sortBy=[["updatedAt","asc"],["id","asc"]]`);
    }
    queries.push(`/api/v3/work_packages?filters=[{"updatedAt":{"operator":"<>d","values":["${mid}","${stamps[Math.floor(stamps.length * 0.8)]!}"]}}]&offset=2&pageSize=20&sortBy=[["updatedAt","asc"],["id","asc"]]`);
    const encoded = queries.map((q) => encodeURI(q));
    try {
      const same = async (): Promise<void> => {
        for (const q of encoded) expect(await get(cached, q), q).toBe(await get(plain, q));
      };
      await same();
      await same(); // answered from the cache now
      const ids = [...plain.dataset.workPackages.keys()].sort((a, b) => a - b);
      for (const sim of [plain, cached]) {
        sim.updateWorkPackage(ids[7]!, (wp) => void (wp.subject = 'Edited'));
        // Moved past every bound by the simulator's clock: the index must see it.
        sim.updateWorkPackage(ids[3]!, (wp) => void (wp.subject = 'Edited too'));
        sim.deleteWorkPackage(ids[60]!);
      }
      await same();
      expect(await get(cached, encoded[0]!)).not.toContain(`"id":${ids[60]},`);
    } finally {
      await plain.close();
      await cached.close();
    }
  });
});
