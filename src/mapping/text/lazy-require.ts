// A CommonJS dependency loaded on first use, synchronously. The text helpers that need the
// Public Suffix List (tldts, ~65 ms to load) or transliteration tables (unidecode) are
// called only when a work package is mapped: a sync that maps nothing never loads them.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
