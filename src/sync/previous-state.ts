// The previous run's state, as this run reads it: one view of the manifest with the
// lookups the phases need (an entry by id, a source's owned work packages, the owner of a
// path), each built once, on first use.
//
// An ordinary run reads the state lazily (format 4): manifest.json only, with each shard's
// summary (output/shard-summary.ts); a shard's entries are read when the run needs them:
// a row of one of its work packages came back, a work package it owns is gone, a path it
// owns is wanted, or its summary cannot prove its work packages unchanged. Every work
// package with a new entry (mapped, gone, a released file) is in a loaded shard, so a
// shard that is written is always written whole; the others keep their bytes and summary.
//
// A shard read lazily stays the text it was read as (output/shard-text.ts): an entry is
// parsed when the run asks for it (a row of it came back, it is mapped or gone), and the
// shard is written as that text with the changed entries spliced in. Its other entries are
// decided from its summary, as an unread shard's are, so they are never parsed.
import pLimit from 'p-limit';
import { OutputError } from '../errors.js';
import { shardFile, shardOf, type Manifest, type ManifestSource, type ManifestWorkPackage, type ShardRead, type StoredState } from '../output/manifest.js';
import { namesPerFolder, shardsNaming, type ShardSummary } from '../output/shard-summary.js';
import { entryIndex, entryPaths, parseEntry, withText, type ShardText } from '../output/shard-text.js';

export class PreviousState {
  /** Path → owner, over the shards read as objects (all of their paths). */
  private pathOwners: Map<string, number> | null = null;
  /** Id → its source, for every owned work package (loaded or not). */
  private owners: Map<number, string> | null = null;
  /** Source → its owned ids, ascending. */
  private idsBySource: Map<string, number[]> | null = null;
  private readonly byShardOf = new Map<string, ReadonlyMap<number, readonly number[]>>();
  /** The summaries' shards, ascending (summaryShards). */
  private shardOrder: readonly number[] | null = null;
  private readonly loaded = new Set<number>();
  private readonly loading = new Map<number, Promise<void>>();
  /** Shard being read → the ids whose entries its callers want parsed as the read ends. */
  private readonly wanted = new Map<number, Set<number>>();
  private readonly loader: ((shard: number) => Promise<Record<string, ManifestWorkPackage> | ShardRead>) | null;
  /**
   * Shards read as text: their index (with the text let go of) and how to read it again.
   * The texts last used stay in hand up to TEXT_BYTES_HELD: a 100,000-work-package state's
   * shards held all at once were ~95 MB.
   */
  private readonly texts = new Map<number, ShardRead>();
  private readonly held: [number, ShardText][] = [];
  private heldBytes = 0;
  private readonly parsed = new Map<number, ManifestWorkPackage>();
  /** Ids of the shards read as objects (a lazy read), ascending per shard. */
  private readonly objectIds = new Map<number, number[]>();
  /**
   * Shards read at once, whoever asks: each holds its text until parsed, and a walk page of
   * rows from every shard asked for all 30 of a 30,000 site together (as reading the
   * state whole does, four at a time).
   */
  private readonly reads = pLimit(4);

  readonly manifest: Manifest | null;
  /** The shards' digests as read; null: no state, or an old format holding everything inline. */
  readonly shards: ReadonlyMap<number, string> | null;
  /** The shards' summaries as read; null: not recorded (an older format). */
  readonly summaries: ReadonlyMap<number, ShardSummary> | null;
  /** Why the state's files disagree with each other (StoredState.torn), or null. */
  readonly torn: string | null;

  private readonly onRead: ((shard: number, bytes: number) => void) | undefined;
  private readonly textBytesHeld: number;

  /**
   * @param options.onRead told of each shard read and its size.
   * @param options.textBytesHeld shard texts kept in hand (TEXT_BYTES_HELD by default; two at least).
   */
  constructor(stored: StoredState | null, options: { onRead?: (shard: number, bytes: number) => void; textBytesHeld?: number } = {}) {
    this.onRead = options.onRead;
    this.textBytesHeld = options.textBytesHeld ?? TEXT_BYTES_HELD;
    this.manifest = stored?.manifest ?? null;
    this.shards = stored?.shards ?? null;
    this.summaries = stored?.summaries ?? null;
    this.torn = stored?.torn ?? null;
    this.loader = stored?.loadText ?? stored?.load ?? null;
    this.digest = stored?.digest;
  }

  /** sha256 of manifest.json as read (undefined: no state). */
  readonly digest: string | undefined;
  /** Content folders' stamps recorded with this state on this machine (output/folder-stamps.ts; set by openState). */
  folderStamps: ReadonlyMap<string, string> = new Map();

  get exists(): boolean {
    return this.manifest !== null;
  }

  /** Whether some shards' entries have not been read (a lazy read). */
  get lazy(): boolean {
    return this.loader !== null && this.loaded.size < (this.summaries?.size ?? 0);
  }

  /** Whether a shard's entries are in memory (always, unless the state was read lazily). */
  isLoaded(shard: number): boolean {
    return this.loader === null || this.loaded.has(shard) || !this.summaries?.has(shard);
  }

  /** The shards whose entries have been read (in a lazy read), ascending. */
  loadedShards(): number[] {
    return [...this.loaded].sort((a, b) => a - b);
  }

  /** The shards whose entries have not been read. */
  unloadedShards(): number[] {
    return this.summaryShards().filter((s) => !this.loaded.has(s));
  }

  /** The shards the summaries describe, ascending, when the state was read lazily (none otherwise). */
  private summaryShards(): readonly number[] {
    return (this.shardOrder ??= this.loader && this.summaries ? [...this.summaries.keys()].sort((a, b) => a - b) : []);
  }

  /** How many shard files the state has, how many of them this run read, and how many of their entries it parsed. */
  readCounts(): { shards: number; shardsRead: number; entriesParsed: number } {
    const shards = this.shards?.size ?? 0;
    let objects = 0;
    if (!this.loader) for (const _ in this.manifest?.workPackages) objects += 1;
    else for (const ids of this.objectIds.values()) objects += ids.length;
    return { shards, shardsRead: this.loader ? this.loaded.size : shards, entriesParsed: objects + this.parsed.size };
  }

  summary(shard: number): ShardSummary | undefined {
    return this.summaries?.get(shard);
  }

  /** How many file names the shards' summaries record per folder (4 bytes a name hash, base64). */
  folderNameCounts(): Map<string, number> {
    return namesPerFolder(this.summaries?.values() ?? []);
  }

  /** The folders the shards' summaries record files in (none without summaries). */
  summarizedFolders(): Set<string> {
    const dirs = new Set<string>();
    for (const s of this.summaries?.values() ?? []) for (const dir in s.names) dirs.add(dir);
    return dirs;
  }

  /**
   * Reads these shards' entries (each once; concurrent calls share the read). Of a shard
   * read as text, the entries of `want` are parsed while its text is in hand.
   */
  async load(shards: Iterable<number>, want?: ReadonlySet<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    const unread = new Set([...shards].filter((shard) => !this.isLoaded(shard)));
    // Every caller's wanted ids are parsed as the read ends, this caller's or not: a shard
    // the run has stopped holding by the time a second caller's wait ends was read again
    // for them (1 % changed at 30,000: each source's pages ask for ids in every shard at
    // once, and ~37 MB of shard texts were read twice).
    if (want) {
      for (const id of want) {
        const shard = shardOf(id);
        if (!unread.has(shard)) continue;
        const ids = this.wanted.get(shard);
        if (ids) ids.add(id);
        else this.wanted.set(shard, new Set([id]));
      }
    }
    for (const shard of unread) {
      let p = this.loading.get(shard);
      if (!p) {
        p = this.reads(() => this.loader!(shard)).then((got) => {
          const wanted = this.wanted.get(shard);
          this.wanted.delete(shard);
          if (isShardRead(got)) {
            this.onRead?.(shard, got.index.text.length);
            this.texts.set(shard, { ...got, index: withText(got.index, '') });
            this.hold(shard, got.index);
            if (wanted) for (const id of wanted) if (entryIndex(got.index, id) >= 0) this.parseFrom(got.index, id);
          } else {
            Object.assign(this.manifest!.workPackages, got);
            this.objectIds.set(shard, Object.keys(got).map(Number));
            if (this.pathOwners) for (const id in got) for (const p in got[id]!.files) this.pathOwners.set(p, Number(id));
          }
          this.loaded.add(shard);
        });
        this.loading.set(shard, p);
      }
      waits.push(p);
    }
    await Promise.all(waits);
  }

  /**
   * Reads the shards of these work packages (the ones whose shard is recorded), and parses
   * their entries while each shard's text is in hand (the run asks for them next).
   */
  async loadFor(ids: Iterable<number>): Promise<void> {
    if (!this.lazy && !this.texts.size) return;
    const want = new Set(ids);
    /** Wanted entries of shards read as text before, not parsed yet: parsed shard by shard, one text in hand each. */
    const later = new Map<number, number[]>();
    for (const id of want) {
      const shard = shardOf(id);
      if (this.texts.has(shard) && !this.parsed.has(id)) {
        const list = later.get(shard);
        if (list) list.push(id);
        else later.set(shard, [id]);
      }
    }
    await this.load([...want].map(shardOf), want);
    for (const [shard, ids] of later) {
      const st = this.textOf(shard)!;
      for (const id of ids) if (entryIndex(st, id) >= 0) this.parseFrom(st, id);
    }
  }

  /** Reads every shard not read yet. */
  loadAll(): Promise<void> {
    return this.load(this.unloadedShards());
  }

  /**
   * Reads the shards that may own one of these paths (a name hash in their summary matches),
   * so that ownerOf answers for them.
   */
  async loadOwnersOf(paths: Iterable<string>): Promise<void> {
    const unloaded = this.unloadedShards();
    if (!unloaded.length) return;
    await this.load(shardsNaming(new Map(unloaded.map((shard) => [shard, this.summaries!.get(shard)!.names])), paths));
  }

  /** A work package's previous entry. Its shard must have been read (a lazy read): asking for one that was not is a bug. */
  entry(id: number): ManifestWorkPackage | undefined {
    const shard = shardOf(id);
    if (!this.isLoaded(shard)) throw new Error(`previous state: the shard of work package #${id} was not read`);
    const read = this.texts.get(shard);
    if (!read) return this.manifest?.workPackages[String(id)];
    const e = this.parsed.get(id);
    if (e) return e;
    return entryIndex(read.index, id) >= 0 ? this.parseFrom(this.textOf(shard)!, id) : undefined;
  }

  /** Parses one entry of a text shard (the text in hand) and keeps it. */
  private parseFrom(st: ShardText, id: number): ManifestWorkPackage {
    let e: ManifestWorkPackage;
    try {
      e = parseEntry(st, entryIndex(st, id));
    } catch (err) {
      throw new OutputError(
        `${shardFile(shardOf(id))}: work package ${id} is not valid JSON (${(err as Error).message}); delete .curate/ and run \`curate sync --full\` to rebuild the state`,
      );
    }
    this.parsed.set(id, e);
    return e;
  }

  /** A work package's previous updatedAt (its shard read), without parsing a text shard's entry. */
  updatedAtOf(id: number): string | undefined {
    const index = this.texts.get(shardOf(id))?.index;
    const i = index ? entryIndex(index, id) : -1;
    return i >= 0 ? index!.updatedAts[i] : this.entry(id)?.updatedAt;
  }

  /** Whether the shard was read as text (its entries parsed only when asked for). */
  isText(shard: number): boolean {
    return this.texts.has(shard);
  }

  /** The shard's text and index, when it was read as text: read again if it was let go of. */
  textOf(shard: number): ShardText | undefined {
    const read = this.texts.get(shard);
    if (!read) return undefined;
    const hit = this.held.find(([s]) => s === shard);
    if (hit) return hit[1];
    const st = withText(read.index, read.reread());
    this.hold(shard, st);
    return st;
  }

  /**
   * The shard's text, to write the shard again from it: checked to be the file on disk
   * still, whether the text was held or read again (TornShardError otherwise). Only a text
   * read again was checked before, so a shard changed under the lock was found or not
   * depending on which texts the run happened to hold.
   */
  textToWrite(shard: number): ShardText | undefined {
    // A text read again is checked as it is read (ShardRead.reread); a held one, here.
    if (this.held.some(([s]) => s === shard)) this.texts.get(shard)!.check();
    return this.textOf(shard);
  }

  /**
   * The shard's bytes, to write the shard again by splicing them (ShardPatch.baseBytes),
   * read again and checked to be the file read; with its index, whose text (needed only
   * when a summary is rebuilt from the entries that stay) is decoded from them when asked
   * for. Undefined when the shard was not read as text, or is not ASCII: textToWrite then.
   */
  bytesToWrite(shard: number): { index: ShardText; bytes: Buffer } | undefined {
    const read = this.texts.get(shard);
    if (!read?.rereadBytes) return undefined;
    const bytes = read.rereadBytes();
    let text: string | undefined;
    return { bytes, index: { ...read.index, get text() { return (text ??= bytes.toString('latin1')); } } };
  }

  /**
   * These shards, the ones whose texts are in hand first (most recently used first), then
   * the others as given. Written in that order, a run that changed something in more
   * shards than it holds reads each of the others once: in ascending order, each read
   * let go of a held text before its turn came, and every shard was read again (1 %
   * changed at 30,000: 30 shards, 16 MB held).
   */
  heldFirst(shards: readonly number[]): number[] {
    const wanted = new Set(shards);
    const first = this.held.map(([shard]) => shard).filter((shard) => wanted.has(shard));
    const inHand = new Set(first);
    return [...first, ...shards.filter((shard) => !inHand.has(shard))];
  }

  /** Keeps a text in hand, letting go of the least recently used beyond TEXT_BYTES_HELD (TEXTS_HELD at least). */
  private hold(shard: number, st: ShardText): void {
    const at = this.held.findIndex(([s]) => s === shard);
    if (at >= 0) this.heldBytes -= this.held.splice(at, 1)[0]![1].text.length;
    this.held.unshift([shard, st]);
    this.heldBytes += st.text.length;
    while (this.held.length > TEXTS_HELD && this.heldBytes > this.textBytesHeld) this.heldBytes -= this.held.pop()![1].text.length;
  }

  /**
   * Whether a read work package's entry may record references: false only for a text
   * shard whose summary records none, whose entries then need not be parsed to know it.
   */
  mayRecordRefs(id: number): boolean {
    const shard = shardOf(id);
    return !this.texts.has(shard) || this.summaries?.get(shard)?.refs !== undefined;
  }

  /** The source that owned a work package, whether its shard was read or not. */
  sourceOf(id: number): string | undefined {
    return this.ownerIndex().get(id);
  }

  owns(id: number): boolean {
    return this.ownerIndex().has(id);
  }

  /** Builds the id → source index now (a run asks it for every listed id once its listings are in). */
  indexOwners(): void {
    this.ownerIndex();
  }

  source(name: string): ManifestSource | undefined {
    return this.manifest?.sources[name];
  }

  sourceNames(): string[] {
    return Object.keys(this.manifest?.sources ?? {});
  }

  /**
   * The ids of every entry read so far, ascending (all of them, unless the state was read
   * lazily). An array, which callers visit with forEach: a run with changes in every shard
   * visits all of them several times, and a generator's step (or an iteration of for…of)
   * allocates in code V8 has not optimized, which a short run's is.
   */
  loadedIds(): number[] {
    if (!this.loader) return Object.keys(this.manifest?.workPackages ?? {}).map(Number);
    const out: number[] = [];
    for (const shard of this.loadedShards()) {
      const ids = this.texts.get(shard)?.index.ids ?? this.objectIds.get(shard) ?? [];
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  /** Every entry read so far, by id: parses every entry of the shards read as text (loadedIds does not). */
  *loadedEntries(): Generator<[number, ManifestWorkPackage]> {
    for (const id of this.loadedIds()) yield [id, this.entry(id)!];
  }

  /** The ids a source owned (loaded or not), ascending. */
  ownedIds(source: string): readonly number[] {
    if (this.loader && this.summaries) {
      // The summaries' lists one after the other: each ascends, and the shards are in order.
      const by = (this.idsBySource ??= new Map());
      let ids = by.get(source);
      if (!ids) {
        by.set(source, (ids = []));
        for (const list of this.ownedByShard(source).values()) for (let i = 0; i < list.length; i++) ids.push(list[i]!);
      }
      return ids;
    }
    if (!this.idsBySource) {
      const by = (this.idsBySource = new Map<string, number[]>());
      for (const [id, w] of this.loadedEntries()) {
        const list = by.get(w.source);
        if (list) list.push(id);
        else by.set(w.source, [id]);
      }
      for (const list of by.values()) list.sort((a, b) => a - b);
    }
    return this.idsBySource.get(source) ?? [];
  }

  /**
   * The ids a source owned, by shard (ascending, each shard's ascending): when the state
   * was read lazily, the summaries' own lists, not a copy. A no-change run at 30,000 split
   * the ascending list of ownedIds by shard again for each source after its last response.
   */
  ownedByShard(source: string): ReadonlyMap<number, readonly number[]> {
    let by = this.byShardOf.get(source);
    if (!by) {
      const built = new Map<number, readonly number[]>();
      if (this.loader && this.summaries) {
        for (const shard of this.summaryShards()) {
          const ids = this.summaries.get(shard)!.owned[source];
          if (ids?.length) built.set(shard, ids);
        }
      } else {
        let current: number[] = [];
        let currentShard = -1;
        this.ownedIds(source).forEach((id) => {
          const shard = shardOf(id);
          if (shard !== currentShard) built.set((currentShard = shard), (current = []));
          current.push(id);
        });
      }
      this.byShardOf.set(source, (by = built));
    }
    return by;
  }

  /** How many work packages a source owned. */
  ownedCount(source: string): number {
    let n = 0;
    this.ownedByShard(source).forEach((ids) => (n += ids.length));
    return n;
  }

  /** Whether the source owned each of these ids of one shard (ascending): the shard's list walked once, no lookup per id. */
  ownsAllIn(source: string, shard: number, ids: readonly number[]): boolean {
    const owned = this.ownedByShard(source).get(shard) ?? [];
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (i > 0 && id <= ids[i - 1]!) return ids.every((x) => this.sourceOf(x) === source); // not ascending
      while (at < owned.length && owned[at]! < id) at += 1;
      if (owned[at] !== id) return false;
    }
    return true;
  }

  /** Sources that owned work packages (including ones no longer configured). */
  owningSources(): string[] {
    if (this.loader && this.summaries) {
      const names = new Set<string>();
      // In the order the entries record them: shard by shard, ascending.
      for (const shard of this.summaryShards()) {
        const owned = this.summaries.get(shard)!.owned;
        for (const name in owned) if (owned[name]!.length) names.add(name);
      }
      return [...names];
    }
    this.ownedIds('');
    return [...this.idsBySource!.keys()];
  }

  /** The work package whose entry records a path, among the shards read (see loadOwnersOf). */
  ownerOf(path: string): number | undefined {
    return this.ownersOf([path]).get(path);
  }

  /**
   * The owners of these paths (those owned), among the shards read. A shard read as text
   * is scanned once per call, and only when its name hashes may hold one of the paths;
   * nothing is recorded for them (each phase asks once, for all of its paths: recording
   * every path of each shard scanned was a map of 200,000 at 100,000 work packages).
   */
  ownersOf(paths: Iterable<string>): Map<string, number> {
    if (!this.pathOwners) {
      this.pathOwners = new Map();
      this.loadedIds().forEach((id) => {
        if (this.texts.has(shardOf(id))) return;
        for (const p in this.entry(id)!.files) this.pathOwners!.set(p, id);
      });
    }
    const out = new Map<string, number>();
    // Nothing read owns a path (a first sync): the paths are not walked.
    if (!this.pathOwners.size && !this.texts.size) return out;
    /** Paths still to be looked for in the text shards. */
    const wanted = new Set<string>();
    for (const path of paths) {
      const owner = this.pathOwners.get(path);
      if (owner !== undefined) out.set(path, owner);
      // No shard read as text (a cold sync asks about 200,000 paths): nothing to look for.
      else if (this.texts.size) wanted.add(path);
    }
    if (!wanted.size) return out;
    const names = new Map([...this.texts.keys()].map((shard) => [shard, this.summaries?.get(shard)?.names ?? {}]));
    for (const shard of shardsNaming(names, wanted)) {
      const st = this.textOf(shard)!;
      st.ids.forEach((id, i) => {
        for (const p of entryPaths(st, i)) if (wanted.has(p)) out.set(p, id);
      });
    }
    return out;
  }

  /** Unread shards' owned ids (for the next state's owned set), added to `into`. */
  unloadedOwnedIds(into: Set<number>): Set<number> {
    for (const shard of this.unloadedShards()) for (const ids of Object.values(this.summaries!.get(shard)!.owned)) ids.forEach((id) => into.add(id));
    return into;
  }

  private ownerIndex(): Map<number, string> {
    if (!this.owners) {
      this.owners = new Map();
      if (this.loader && this.summaries) {
        for (const s of this.summaries.values()) for (const [source, ids] of Object.entries(s.owned)) ids.forEach((id) => this.owners!.set(id, source));
      } else this.loadedIds().forEach((id) => this.owners!.set(id, this.entry(id)!.source));
    }
    return this.owners;
  }
}

const isShardRead = (got: Record<string, ManifestWorkPackage> | ShardRead): got is ShardRead => typeof (got as Partial<ShardRead>).reread === 'function';

/**
 * Shard texts kept in hand (PreviousState.texts): the most recently used up to ~16 MB, and
 * at least two. Kept, a text costs memory; let go of, it costs a read again when an entry
 * of it is parsed (the rows of one walk page, shard by shard: loadFor), when it is scanned
 * for the owners of paths (once per call: ownersOf), and when it is written. Seventh
 * session: 1 % changed at 30,000 took 2.41 s and 190 MB with two held, 2.28 s and 178 MB
 * with all; at 100,000, 6.9 s and 244 MB with two, 9.3 s and 300–313 MB with all 95 MB of
 * them. Eighth session, with the reads grouped by shard: 16 MB against 32 MB, 1 % changed
 * at 100,000 peaked at 215–226 MB against 228 (dry run 204 against 212 MB), and at 30,000
 * took no longer (docs/performance.md).
 */
const TEXTS_HELD = 2;
const TEXT_BYTES_HELD = 16 * 1024 * 1024;
