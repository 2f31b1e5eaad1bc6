// The files a run wants, column by column. A cold sync of 100,000 work packages wants
// ~200,000 files and holds them from the mapping to the state's write: as objects (each
// with a content object and its sha256 as 64 hex characters) they were ~350 bytes a file,
// about a third of that run's heap. Here a file is its path, 32 bytes of sha256, its staged
// name and a few numbers. Pure data.
import type { NewContent } from './types.js';

export interface DesiredFile {
  path: string;
  source: string;
  workPackageId: number;
  binary: boolean;
  sha256: string;
  /**
   * Where the bytes come from when the path does not hold them yet; null for an unchanged
   * attachment whose bytes are not at hand (valid only when the path already holds them).
   */
  content: NewContent | null;
}

const SHA_BYTES = 32;
const HEX = /^[0-9a-f]{64}$/;

export class DesiredTable {
  length = 0;
  private paths: string[] = [];
  private ids: Float64Array;
  private sources: Uint16Array;
  private flags: Uint8Array;
  /** sha256 digests as bytes (`hex` flag); any other string (a caller's own) is in `odd`. */
  private shas: Buffer;
  private readonly odd = new Map<number, string>();
  /** A staged file's name, a copy's source (an object, rare), or null. */
  private contents: (string | NewContent | null)[] = [];
  private readonly sourceNames: string[] = [];
  private readonly sourceIndex = new Map<string, number>();

  constructor(capacity = 1024) {
    this.ids = new Float64Array(capacity);
    this.sources = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.shas = Buffer.alloc(capacity * SHA_BYTES);
  }

  static of(files: readonly DesiredFile[]): DesiredTable {
    const t = new DesiredTable(Math.max(16, files.length));
    for (const f of files) t.push(f);
    return t;
  }

  push(d: DesiredFile): void {
    if (this.length === this.ids.length) this.grow();
    const i = this.length++;
    this.paths.push(d.path);
    this.ids[i] = d.workPackageId;
    let s = this.sourceIndex.get(d.source);
    if (s === undefined) {
      s = this.sourceNames.length;
      this.sourceNames.push(d.source);
      this.sourceIndex.set(d.source, s);
    }
    this.sources[i] = s;
    this.flags[i] = d.binary ? 1 : 0;
    this.setSha256(i, d.sha256);
    this.contents.push(null);
    this.setContent(i, d.content);
  }

  path(i: number): string {
    return this.paths[i]!;
  }
  workPackageId(i: number): number {
    return this.ids[i]!;
  }
  source(i: number): string {
    return this.sourceNames[this.sources[i]!]!;
  }
  binary(i: number): boolean {
    return (this.flags[i]! & 1) === 1;
  }
  /** Made on each call (64 characters): compare, do not keep, where many are read. */
  sha256(i: number): string {
    return this.flags[i]! & 2 ? this.shas.toString('hex', i * SHA_BYTES, (i + 1) * SHA_BYTES) : this.odd.get(i)!;
  }
  setSha256(i: number, sha: string): void {
    if (HEX.test(sha)) {
      this.shas.write(sha, i * SHA_BYTES, SHA_BYTES, 'hex');
      this.flags[i] = this.flags[i]! | 2;
      this.odd.delete(i);
    } else {
      this.flags[i] = this.flags[i]! & ~2;
      this.odd.set(i, sha);
    }
  }
  hasContent(i: number): boolean {
    return this.contents[i] !== null;
  }
  /** Made on each call for a staged file. */
  content(i: number): NewContent | null {
    const c = this.contents[i]!;
    return typeof c === 'string' ? { kind: 'staged', name: c } : c;
  }
  setContent(i: number, c: NewContent | null): void {
    this.contents[i] = c?.kind === 'staged' ? c.name : c;
  }
  /** The i-th file as an object of its own (changing it does not change the table). */
  at(i: number): DesiredFile {
    return { path: this.path(i), source: this.source(i), workPackageId: this.workPackageId(i), binary: this.binary(i), sha256: this.sha256(i), content: this.content(i) };
  }
  *[Symbol.iterator](): Generator<DesiredFile> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  /** Keeps, in place and in order, the rows `keep` accepts. */
  retain(keep: (i: number) => boolean): void {
    let n = 0;
    const odd = new Map<number, string>();
    for (let i = 0; i < this.length; i++) {
      if (!keep(i)) continue;
      if (n !== i) {
        this.paths[n] = this.paths[i]!;
        this.ids[n] = this.ids[i]!;
        this.sources[n] = this.sources[i]!;
        this.flags[n] = this.flags[i]!;
        this.shas.copy(this.shas, n * SHA_BYTES, i * SHA_BYTES, (i + 1) * SHA_BYTES);
        this.contents[n] = this.contents[i]!;
      }
      if (this.odd.has(i)) odd.set(n, this.odd.get(i)!);
      n += 1;
    }
    this.length = n;
    this.paths.length = n;
    this.contents.length = n;
    this.odd.clear();
    for (const [i, s] of odd) this.odd.set(i, s);
  }

  private grow(): void {
    const size = this.ids.length * 2;
    const ids = new Float64Array(size);
    ids.set(this.ids);
    this.ids = ids;
    const sources = new Uint16Array(size);
    sources.set(this.sources);
    this.sources = sources;
    const flags = new Uint8Array(size);
    flags.set(this.flags);
    this.flags = flags;
    const shas = Buffer.alloc(size * SHA_BYTES);
    this.shas.copy(shas);
    this.shas = shas;
  }
}
