// Which configured sources match each work package, from the id listings (an ordinary run)
// or the id questions (a targeted run). One work package belongs to one source; two
// matches are an overlap, an item error for that work package. The one place both kinds
// of run decide membership and overlaps.
import type { Ledger } from './ledger.js';

export class Membership {
  /** Id → the source matching it, or the sources (an overlap): an array only when there are two. */
  private readonly matches = new Map<number, string | string[]>();

  /** Each configured source's place in the config: an overlap lists its sources in that order. */
  private readonly rank: ReadonlyMap<string, number>;

  /**
   * `fallback`: who owns an id this run did not ask about (a targeted run asks only about
   * its ids: for the others, what the manifest says is the best knowledge). `order`: the
   * configured sources in config order (sources added in another order, as their listings
   * arrive, are still listed in it; a source not named goes last).
   */
  constructor(
    private readonly fallback: (id: number) => string | undefined = () => undefined,
    order: readonly string[] = [],
  ) {
    this.rank = new Map(order.map((name, i) => [name, i]));
  }

  /** Records that a source matches these ids (sources in any order). */
  add(source: string, ids: ReadonlySet<number> | readonly number[]): void {
    const rankOf = (name: string): number => this.rank.get(name) ?? Infinity;
    ids.forEach((id) => {
      const m = this.matches.get(id);
      if (m === undefined) this.matches.set(id, source);
      else if (typeof m === 'string') this.matches.set(id, rankOf(source) < rankOf(m) ? [source, m] : [m, source]);
      else {
        const at = m.findIndex((other) => rankOf(source) < rankOf(other));
        if (at < 0) m.push(source);
        else m.splice(at, 0, source);
      }
    });
  }

  /** Distinct ids some source matches. */
  get size(): number {
    return this.matches.size;
  }

  has(id: number): boolean {
    return this.matches.has(id);
  }

  /** The sources matching an id, in config order (empty: none). */
  sourcesOf(id: number): readonly string[] {
    const m = this.matches.get(id);
    return m === undefined ? [] : typeof m === 'string' ? [m] : m;
  }

  /** The one source syncing an id this run, or undefined (none, or an overlap). */
  sourceOf(id: number): string | undefined {
    const m = this.matches.get(id);
    if (m === undefined) return this.fallback(id);
    return typeof m === 'string' ? m : undefined;
  }

  /** Ids matched by more than one source, each recorded as an item error: their files stay as they are. */
  recordOverlaps(ledger: Ledger, among?: Iterable<number>): Set<number> {
    const out = new Set<number>();
    const record = (list: string | string[] | undefined, id: number): void => {
      if (list === undefined || typeof list === 'string') return;
      out.add(id);
      ledger.failed({ kind: 'overlap', source: list[0]!, workPackageId: id, message: overlapMessage(id, list) });
    };
    if (among) for (const id of among) record(this.matches.get(id), id);
    else this.matches.forEach(record);
    return out;
  }
}

export function overlapMessage(id: number, sources: readonly string[]): string {
  return `work package #${id} is matched by sources ${sources.map((s) => `"${s}"`).join(' and ')}; a work package must belong to one source (change their projects, types or statuses). Its files stay as they are`;
}
