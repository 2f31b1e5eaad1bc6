// The record of the queries a run listed its sources with (src/output/listing-hint.ts): read
// back as written, for its own server only; anything damaged is no hint; an unchanged hint
// is not written again.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LISTING_HINT_FILE, readListingHint, serverKey, writeListingHint, type ListingHint } from '../../src/output/listing-hint.js';
import { TEST_TMP } from '../helpers/env.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(TEST_TMP, 'curate-hint-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const server = serverKey('https://openproject.example.com');
const hint: ListingHint = {
  server,
  authorsAnswered: true,
  queries: { news: { projectIds: [3], typeIds: [2, 4], statusIds: [] }, events: { projectIds: [5], typeIds: [7], statusIds: [1], includeSubprojects: true } },
};

describe('listing hint', () => {
  it('reads back what was written, for the same server only; the file names the server by a digest', async () => {
    expect(await readListingHint(root, server)).toBeNull();
    expect(await writeListingHint(root, hint, null)).toBe(true);
    expect(await readListingHint(root, server)).toEqual(hint);
    expect(await readListingHint(root, serverKey('https://other.example.com'))).toBeNull();
    const text = await readFile(path.join(root, LISTING_HINT_FILE), 'utf8');
    expect(text).not.toContain('openproject.example.com');
    // It ignores itself for git, like the folder stamps beside it.
    expect(await readFile(path.join(root, '.curate', 'local', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('an unchanged hint is not written again; a changed one is', async () => {
    await writeListingHint(root, hint, null);
    const before = await stat(path.join(root, LISTING_HINT_FILE), { bigint: true });
    expect(await writeListingHint(root, structuredClone(hint), await readListingHint(root, server))).toBe(false);
    expect((await stat(path.join(root, LISTING_HINT_FILE), { bigint: true })).mtimeNs).toBe(before.mtimeNs);
    const changed = { ...hint, queries: { ...hint.queries, news: { projectIds: [3], typeIds: [2], statusIds: [] } } };
    expect(await writeListingHint(root, changed, hint)).toBe(true);
    expect((await readListingHint(root, server))?.queries.news).toEqual({ projectIds: [3], typeIds: [2], statusIds: [] });
  });

  it('a damaged file is no hint; a damaged entry is left out', async () => {
    await writeListingHint(root, hint, null);
    const file = path.join(root, LISTING_HINT_FILE);
    await writeFile(file, '{"version": 1, "server": ');
    expect(await readListingHint(root, server)).toBeNull();
    await writeFile(file, JSON.stringify({ version: 2, server, authorsAnswered: true, queries: {} }));
    expect(await readListingHint(root, server)).toBeNull();
    await writeFile(file, JSON.stringify({ version: 1, server, authorsAnswered: 'yes', queries: {} }));
    expect(await readListingHint(root, server)).toBeNull();
    const queries = { news: { projectIds: ['3'] }, events: { projectIds: [5], updatedSince: '2021-01-01T00:00:00Z' }, video: { projectIds: [6], typeIds: [1.5] }, ok: { projectIds: [1] } };
    await writeFile(file, JSON.stringify({ version: 1, server, authorsAnswered: false, queries }));
    expect(await readListingHint(root, server)).toEqual({ server, authorsAnswered: false, queries: { ok: { projectIds: [1] } } });
  });
});
