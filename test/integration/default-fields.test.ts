// Issue 20: every custom-field format becomes a typed frontmatter value (multi-value fields
// lists), and a configured field the key cannot see is reported instead of silently missing.
// fixtures/default/fields: one work package with a field of every format; `Tags` (the
// configured tagsField) is admin-only. Synced by the real CLI from the simulator with an
// administrator's key and with a user's key.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { ROOT, runCli, tempDir } from '../helpers/env.js';

const FIELDS = path.join(ROOT, 'fixtures', 'default', 'fields');
const CONFIG = path.join(FIELDS, 'curate.config.yaml');
const ADMIN = 'fields-admin-key-not-a-secret';
const USER = 'fields-user-key-not-a-secret';

describe('default profile: custom fields of every format, seen by an administrator and by a user', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dataset: path.join(FIELDS, 'dataset'), apiKey: ADMIN, userApiKey: USER });
  });
  afterAll(async () => sim.close());

  const sync = async (key: string): Promise<{ code: number | null; stderr: string; fm: Record<string, unknown> }> => {
    const { dir, cleanup } = await tempDir('curate-fields-');
    try {
      const r = await runCli(['sync', '--config', CONFIG, '--out', dir], { env: { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: key } });
      const md = await readFile(path.join(dir, 'pages', '1', 'index.md'), 'utf8');
      return { code: r.code, stderr: r.stderr, fm: yaml.load(/^---\n([\s\S]*?)\n---/.exec(md)![1]!) as Record<string, unknown> };
    } finally {
      await cleanup();
    }
  };

  it('writes every format as a typed value: numbers, booleans, dates, text, titles; multi-value fields as lists', async () => {
    const { code, stderr, fm } = await sync(ADMIN);
    expect(code, stderr).toBe(0);
    const fields = (fm.openproject as { fields: Record<string, unknown> }).fields;
    expect(fields).toEqual({
      tags: 'alpha, beta',
      position: 3,
      summaryLine: 'One line',
      longText: 'Some *long* text',
      homepage: 'https://example.com/home',
      score: 4.25,
      featured: true,
      launchDate: new Date('2024-07-01T00:00:00Z'),
      audience: ['Developers', 'Operators'],
      channel: 'Blog',
      owner: 'Jane Doe',
      reviewers: ['Jane Doe'],
      release: '1.0',
      room: 'room 1 (R1)',
      rooms: ['room 1 (R1)', 'room 2 (R2)'],
      risk: 'High (3)',
      department: 'Marketing & Communications',
      totalCost: 1234.5,
      emptyAudience: [],
      internalNote: 'admins only',
    });
    expect(fm.tags).toEqual(['alpha', 'beta']);
    expect(fm.weight).toBe(3);
    expect(stderr).not.toMatch(/not visible/);
  });

  it('a user\'s key does not see admin-only fields: the page lacks them and the sync says so', async () => {
    const { code, stderr, fm } = await sync(USER);
    expect(code, stderr).toBe(0);
    const fields = (fm.openproject as { fields: Record<string, unknown> }).fields;
    expect(fields).not.toHaveProperty('tags');
    expect(fields).not.toHaveProperty('internalNote');
    expect(fields.position).toBe(3);
    expect(fm.tags).toEqual([]);
    expect(stderr).toMatch(/custom field "Tags" \(profile\.options\.tagsField\) is not visible to this key for site × Page/);
    expect(stderr).toMatch(/admin-only/);
  });

  it('doctor and fields name a configured field the key cannot see', async () => {
    const env = { OPENPROJECT_URL: sim.url, OPENPROJECT_API_KEY: USER };
    const doctor = await runCli(['doctor', '--config', CONFIG], { env });
    expect(doctor.stdout).toMatch(/✗ custom fields: not visible to this key: "Tags" \(profile\.options\.tagsField\)/);
    expect(doctor.stdout).toMatch(/admin-only/);
    const admin = await runCli(['doctor', '--config', CONFIG], { env: { ...env, OPENPROJECT_API_KEY: ADMIN } });
    expect(admin.stdout).toMatch(/✓ custom fields: "Tags", "Position"/);
    const fields = await runCli(['fields', '--project', 'site', '--type', 'Page', '--config', CONFIG], { env });
    expect(fields.code, fields.stderr).toBe(0);
    expect(fields.stdout).toMatch(/hierarchy/);
    expect(`${fields.stdout}${fields.stderr}`).toMatch(/"Tags" \(profile\.options\.tagsField\) is not visible to this key/);
  });
});
