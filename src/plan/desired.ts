// The files a run wants, column by column. A cold sync of 100,000 work packages wants
// ~200,000 files and holds them from the mapping to the state's write: as objects (each
// with a content object and its sha256 as 64 hex characters) they were ~350 bytes a file,
// about a third of that run's heap. Here a file is its path as folder and name, 32 bytes of
// sha256, its staged name as two numbers and a few numbers more. Pure data.
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
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const HEX = /^[0-9a-f]{64}$/;
/** A staged name as Staging makes them (a letter and a counter): kept as two numbers. */
const PACKED_NAME = /^([a-z])([1-9][0-9]{0,9})$/;

/** flags: bit 0 binary, bit 1 the sha256 is in `shas`. */
const BINARY = 1;
const SHA_PACKED = 2;
/** contentTag: no content, one in `otherContent`, or the letter of a packed staged name. */
const NO_CONTENT = 0;
const OTHER_CONTENT = 1;

/**
 * A copy of a string that holds nothing else: a `slice` of 13 characters or more is a view
 * that keeps the whole string it was cut from alive.
 */
const own = (s: string): string => (s.length < 13 || SURROGATE.test(s) ? s : Buffer.from(s, 'utf8').toString('utf8'));
/** `to`, holding `from`'s values first. */
function grown<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
/** A string with UTF-16 surrogates is kept as cut (a lone one would not survive UTF-8). */
const SURROGATE = /[\ud800-\udfff]/;

export class DesiredTable {
  length = 0;
  /**
   * A path as its folder (an index into `dirs`, with its slash) and its name: in a content
   * folder of thousands of files, a ~120-character path is a shared ~60-character folder
   * and its own name (~63 bytes less a file). `path(i)` makes the whole path on each call.
   */
  private names: string[] = [];
  private dirOf: Uint32Array;
  private readonly dirs: string[] = [];
  private readonly dirIds = new Map<string, number>();
  /** The folders' order (folderOrder), made when rows in two folders are first compared. */
  private order: { rank: Uint32Array; last: Uint32Array } | null = null;
  private ids: Float64Array;
  private sources: Uint16Array;
  private flags: Uint8Array;
  /**
   * sha256 digests as bytes, CHUNK rows a buffer: grown a chunk at a time rather than
   * copied into one twice the size (8.4 MB for 200,000 files that way).
   */
  private readonly shas: Buffer[] = [];
  /** sha256 strings that are not 64 lowercase hex characters (a caller's own). */
  private readonly oddShas = new Map<number, string>();
  private contentTag: Uint8Array;
  private contentSeq: Uint32Array;
  /** Contents that are not a packed staged name: a copy's source, another name. */
  private readonly otherContent = new Map<number, NewContent>();
  private readonly sourceNames: string[] = [];
  private readonly sourceIndex = new Map<string, number>();

  constructor(capacity = 1024) {
    this.ids = new Float64Array(capacity);
    this.dirOf = new Uint32Array(capacity);
    this.sources = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.contentTag = new Uint8Array(capacity);
    this.contentSeq = new Uint32Array(capacity);
  }

  static of(files: readonly DesiredFile[]): DesiredTable {
    const t = new DesiredTable(Math.max(16, files.length));
    for (const f of files) t.push(f);
    return t;
  }

  push(d: DesiredFile): void {
    if (this.length === this.ids.length) this.grow();
    const i = this.length++;
    if (i >>> CHUNK_BITS === this.shas.length) this.shas.push(Buffer.alloc(CHUNK * SHA_BYTES));
    const cut = d.path.lastIndexOf('/');
    // The folder with its slash (none when the path has none).
    const dir = d.path.slice(0, cut + 1);
    let dirId = this.dirIds.get(dir);
    if (dirId === undefined) {
      dirId = this.dirs.length;
      this.dirs.push(own(dir));
      this.dirIds.set(this.dirs[dirId]!, dirId);
    }
    this.dirOf[i] = dirId;
    this.names.push(own(d.path.slice(cut + 1)));
    this.ids[i] = d.workPackageId;
    let s = this.sourceIndex.get(d.source);
    if (s === undefined) {
      s = this.sourceNames.length;
      this.sourceNames.push(d.source);
      this.sourceIndex.set(d.source, s);
    }
    this.sources[i] = s;
    this.flags[i] = d.binary ? BINARY : 0;
    this.setSha256(i, d.sha256);
    this.setContent(i, d.content);
  }

  /** Made on each call. */
  path(i: number): string {
    return `${this.dirs[this.dirOf[i]!]!}${this.names[i]!}`;
  }
  /** Orders rows as their paths compare (by code unit), without making them. */
  comparePaths(a: number, b: number): number {
    const da = this.dirOf[a]!;
    const db = this.dirOf[b]!;
    if (da === db) {
      const x = this.names[a]!;
      const y = this.names[b]!;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const order = this.folderOrder();
    const ra = order.rank[da]!;
    const rb = order.rank[db]!;
    // One folder inside the other: the name of the outer one meets the inner one's rest.
    if ((ra < rb && rb <= order.last[da]!) || (rb < ra && ra <= order.last[db]!)) {
      const x = this.path(a);
      const y = this.path(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return ra - rb;
  }
  /**
   * Each folder's rank among them (each ends with its slash), and the last rank of the
   * folders inside it: two paths in different folders, neither inside the other, compare
   * as their folders do then, and every folder inside another ranks right after it.
   */
  private folderOrder(): { rank: Uint32Array; last: Uint32Array } {
    if (this.order && this.order.rank.length === this.dirs.length) return this.order;
    const keys = this.dirs;
    const byKey = keys.map((_, i) => i).sort((x, y) => (keys[x]! < keys[y]! ? -1 : keys[x]! > keys[y]! ? 1 : 0));
    const rank = new Uint32Array(keys.length);
    const last = new Uint32Array(keys.length);
    byKey.forEach((d, r) => {
      rank[d] = r;
      last[d] = r;
    });
    // Inside: the folders whose key starts with this one's (the empty folder holds all).
    const open: number[] = [];
    byKey.forEach((d, r) => {
      while (open.length && !keys[d]!.startsWith(keys[open[open.length - 1]!]!)) open.pop();
      for (const o of open) last[o] = r;
      open.push(d);
    });
    return (this.order = { rank, last });
  }
  workPackageId(i: number): number {
    return this.ids[i]!;
  }
  source(i: number): string {
    return this.sourceNames[this.sources[i]!]!;
  }
  binary(i: number): boolean {
    return (this.flags[i]! & BINARY) !== 0;
  }
  /** Made on each call (64 characters): compare, do not keep, where many are read. */
  sha256(i: number): string {
    if (!(this.flags[i]! & SHA_PACKED)) return this.oddShas.get(i)!;
    const at = (i & (CHUNK - 1)) * SHA_BYTES;
    return this.shas[i >>> CHUNK_BITS]!.toString('hex', at, at + SHA_BYTES);
  }
  setSha256(i: number, sha: string): void {
    if (HEX.test(sha)) {
      this.shas[i >>> CHUNK_BITS]!.write(sha, (i & (CHUNK - 1)) * SHA_BYTES, SHA_BYTES, 'hex');
      this.flags[i] = this.flags[i]! | SHA_PACKED;
      this.oddShas.delete(i);
    } else {
      this.flags[i] = this.flags[i]! & ~SHA_PACKED;
      this.oddShas.set(i, sha);
    }
  }
  hasContent(i: number): boolean {
    return this.contentTag[i] !== NO_CONTENT;
  }
  /** Made on each call for a staged file. */
  content(i: number): NewContent | null {
    const tag = this.contentTag[i]!;
    if (tag === NO_CONTENT) return null;
    if (tag === OTHER_CONTENT) return this.otherContent.get(i)!;
    return { kind: 'staged', name: `${String.fromCharCode(tag)}${this.contentSeq[i]}` };
  }
  setContent(i: number, c: NewContent | null): void {
    this.otherContent.delete(i);
    const m = c?.kind === 'staged' ? PACKED_NAME.exec(c.name) : null;
    if (m && Number(m[2]) <= 0xffffffff) {
      this.contentTag[i] = m[1]!.charCodeAt(0);
      this.contentSeq[i] = Number(m[2]);
    } else if (c) {
      this.contentTag[i] = OTHER_CONTENT;
      this.otherContent.set(i, c);
    } else this.contentTag[i] = NO_CONTENT;
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
    const oddShas = new Map<number, string>();
    const otherContent = new Map<number, NewContent>();
    for (let i = 0; i < this.length; i++) {
      if (!keep(i)) continue;
      if (n !== i) {
        this.names[n] = this.names[i]!;
        this.dirOf[n] = this.dirOf[i]!;
        this.ids[n] = this.ids[i]!;
        this.sources[n] = this.sources[i]!;
        this.flags[n] = this.flags[i]!;
        const from = (i & (CHUNK - 1)) * SHA_BYTES;
        this.shas[i >>> CHUNK_BITS]!.copy(this.shas[n >>> CHUNK_BITS]!, (n & (CHUNK - 1)) * SHA_BYTES, from, from + SHA_BYTES);
        this.contentTag[n] = this.contentTag[i]!;
        this.contentSeq[n] = this.contentSeq[i]!;
      }
      if (this.oddShas.has(i)) oddShas.set(n, this.oddShas.get(i)!);
      if (this.otherContent.has(i)) otherContent.set(n, this.otherContent.get(i)!);
      n += 1;
    }
    this.length = n;
    this.names.length = n;
    this.shas.length = Math.ceil(n / CHUNK);
    this.oddShas.clear();
    for (const [i, s] of oddShas) this.oddShas.set(i, s);
    this.otherContent.clear();
    for (const [i, c] of otherContent) this.otherContent.set(i, c);
  }

  // By half again, not double: less of the columns is left empty past the last row.
  private grow(): void {
    const size = Math.ceil(this.ids.length * 1.5);
    this.ids = grown(this.ids, new Float64Array(size));
    this.dirOf = grown(this.dirOf, new Uint32Array(size));
    this.sources = grown(this.sources, new Uint16Array(size));
    this.flags = grown(this.flags, new Uint8Array(size));
    this.contentTag = grown(this.contentTag, new Uint8Array(size));
    this.contentSeq = grown(this.contentSeq, new Uint32Array(size));
  }
}
