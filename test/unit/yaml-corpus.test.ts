// The yardstick for the emitter: every markdown file the legacy pipeline wrote
// (PyYAML CSafeDumper inside python-frontmatter) is read back into the data the
// dumper had, re-emitted, and must come out byte for byte identical.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitYaml, renderFrontmatterFile } from '../../src/mapping/yaml/index.js';
import { loadCorpusYaml, splitFrontmatter } from '../helpers/corpus-yaml.js';
import { SHARED_TRAIN } from '../helpers/env.js';

// Beside the checkout (../shared), wherever the checkout is: CI clones elsewhere.
const SHARED = path.join(SHARED_TRAIN, 'expected');
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/medigy/expected');

function markdownFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.md')) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** Re-emit one corpus file; returns null when identical, else a short description of the first difference. */
function reemit(file: string): string | null {
  const text = readFileSync(file, 'utf8');
  const { yaml, body } = splitFrontmatter(text);
  const data = loadCorpusYaml(yaml);
  const again = renderFrontmatterFile(data, body);
  if (again === text) return null;
  let i = 0;
  while (i < text.length && text[i] === again[i]) i++;
  return `${file}: first difference at char ${i}: expected ${JSON.stringify(text.slice(i, i + 60))}, got ${JSON.stringify(again.slice(i, i + 60))}`;
}

function corpusSuite(name: string, root: string, expectedCount: number | null): void {
  describe.skipIf(!existsSync(root))(`${name} corpus (${root}${existsSync(root) ? '' : ' is absent: suite skipped'})`, () => {
    it('re-emits every markdown file byte for byte', () => {
      const files = markdownFiles(root);
      if (expectedCount !== null) expect(files.length).toBe(expectedCount);
      expect(files.length).toBeGreaterThan(0);
      const failures = files.map(reemit).filter((f): f is string => f !== null);
      console.log(`${name}: ${files.length - failures.length}/${files.length} markdown files byte-identical`);
      expect(failures).toEqual([]);
    });
    it('is sensitive to the folding width (control: the comparison can fail)', () => {
      const files = markdownFiles(root);
      const differing = files.filter((file) => {
        const { yaml } = splitFrontmatter(readFileSync(file, 'utf8'));
        const data = loadCorpusYaml(yaml);
        expect(emitYaml(data)).toBe(yaml);
        return emitYaml(data, { width: 60 }) !== yaml;
      });
      expect(differing.length).toBeGreaterThan(0);
    });
  });
}

corpusSuite('train', SHARED, 759);
corpusSuite('fixtures', FIXTURES, null);
