// Datetime text the legacy pipeline produced from OpenProject's ISO-8601 UTC strings.
const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/;

function parts(iso: string): { date: string; time: string; fraction: string } {
  const m = ISO.exec(iso);
  if (!m) throw new RangeError(`not an ISO-8601 UTC datetime: ${JSON.stringify(iso)}`);
  return { date: m[1]!, time: m[2]!, fraction: (m[3] ?? '').padEnd(6, '0').slice(0, 6) };
}

/** `2020-10-14T11:10:40.671Z` → `2020-10-14T11:10:40.671000Z` (Python isoformat of an aware UTC datetime, 'Z'). */
export function isoWith6Fraction(iso: string): string {
  const p = parts(iso);
  return `${p.date}T${p.time}.${p.fraction}Z`;
}

/** PyYAML's `datetime.isoformat(' ')` of the naive datetime: the fraction is left out when it is 0. */
export function naiveTimestampText(iso: string): string {
  const p = parts(iso);
  return p.fraction === '000000' ? `${p.date} ${p.time}` : `${p.date} ${p.time}.${p.fraction}`;
}
