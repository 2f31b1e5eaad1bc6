import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeImage } from '../../src/mapping/image-probe.js';
import { loadCorpusYaml, splitFrontmatter } from '../helpers/corpus-yaml.js';
import { FIXTURE_DATASET, FIXTURE_EXPECTED, FIXTURES, HAS_SHARED, SHARED_TRAIN } from '../helpers/env.js';

const png = (w: number, h: number): Buffer => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([w >> 24, w >> 16, w >> 8, w & 255, h >> 24, h >> 16, h >> 8, h & 255, 8, 2, 0, 0, 0])]);

describe('probeImage', () => {
  it.each([
    ['PNG', png(640, 480), { format: 'PNG', width: 640, height: 480 }],
    ['GIF', Buffer.concat([Buffer.from('GIF89a'), Buffer.from([0x20, 0x03, 0x58, 0x02])]), { format: 'GIF', width: 800, height: 600 }],
    ['JPEG with APP0 then SOF0', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0x01, 0xe0, 0x02, 0x80, 3, 0, 0]), { format: 'JPEG', width: 640, height: 480 }],
    ['ICO: largest entry, 0 means 256', Buffer.from([0, 0, 1, 0, 2, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 38, 0, 0, 0, 0, 0, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 38, 0, 0, 0]), { format: 'ICO', width: 256, height: 256 }],
    ['WEBP VP8X', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8X'), Buffer.alloc(8), Buffer.from([0x7f, 0x02, 0, 0xdf, 0x01, 0]), Buffer.alloc(4)]), { format: 'WEBP', width: 640, height: 480 }],
  ])('%s', (_n, bytes, expected) => {
    expect(probeImage(bytes)).toEqual({ kind: 'image', valid: true, ...expected });
  });
  it.each([
    ['an HTML page named .png', Buffer.from('<!DOCTYPE html><html></html>')],
    ['empty', Buffer.alloc(0)],
    ['truncated PNG', png(1, 1).subarray(0, 14)],
    ['SVG with script', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ['JPEG without a frame header', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
    ['zero-sized PNG', png(0, 0)],
  ])('%s is not a valid image', (_n, bytes) => {
    expect(probeImage(bytes)).toEqual({ kind: 'image', valid: false });
  });
});

/** Every image block of the expected corpus names format and size: the probe must agree on the bytes. */
function checkCorpus(expectedDir: string, datasetDir: string, manifestFile: string): number {
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { md: string }[];
  let checked = 0;
  for (const m of manifest) {
    const { yaml } = splitFrontmatter(readFileSync(path.join(expectedDir, m.md), 'utf8'));
    const fm = loadCorpusYaml(yaml) as Record<string, { valid?: boolean; format?: string; size?: number[]; wpAttachment?: { link: string } }>;
    for (const key of ['featuredImage', 'favIconImage']) {
      const block = fm[key];
      if (!block) continue;
      const id = /attachments\/(\d+)\//.exec(block.wpAttachment!.link)![1];
      const probe = probeImage(readFileSync(path.join(datasetDir, 'attachments', `${id}.content`)).subarray(0, 1 << 20));
      if (block.valid) expect(probe, `${m.md} ${key}`).toEqual({ kind: 'image', valid: true, format: block.format, width: block.size![0], height: block.size![1] });
      else expect(probe, `${m.md} ${key}`).toEqual({ kind: 'image', valid: false });
      checked++;
    }
  }
  return checked;
}

describe('probeImage agrees with every image of the legacy corpus', () => {
  it('fixtures', () => {
    expect(checkCorpus(FIXTURE_EXPECTED, FIXTURE_DATASET, path.join(FIXTURES, 'manifest.json'))).toBe(30);
  });
  it.skipIf(!HAS_SHARED)('shared train set', () => {
    expect(checkCorpus(path.join(SHARED_TRAIN, 'expected'), path.join(SHARED_TRAIN, 'dataset'), path.join(SHARED_TRAIN, 'manifest.json'))).toBe(846);
  });
  it('fixture attachments exist', () => {
    expect(readdirSync(path.join(FIXTURE_DATASET, 'attachments')).length).toBeGreaterThan(0);
  });
});
