// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
// file, so a slow scenario can be pinned to code. `node scripts/bench-lib/cpuprofile.js FILE [top]`
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function summarise(file, top = 25) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
  const fn = new Map();
  const files = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const url = cf.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'node_modules/').replace(/.*\/main\//, '');
    const key = `${cf.functionName || '(anonymous)'} ${url}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fk = url || cf.functionName;
    files.set(fk, (files.get(fk) ?? 0) + us);
    total += us;
  }
  const sort = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => ({ ms: Math.round(us / 1000), pct: +((100 * us) / total).toFixed(1), k }));
  return { totalMs: Math.round(total / 1000), functions: sort(fn), files: sort(files) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = summarise(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(`sampled ${s.totalMs} ms`);
  console.log('-- self time by function');
  for (const r of s.functions) console.log(`${String(r.ms).padStart(7)} ms ${String(r.pct).padStart(5)}%  ${r.k}`);
  console.log('-- self time by file');
  for (const r of s.files) console.log(`${String(r.ms).padStart(7)} ms ${String(r.pct).padStart(5)}%  ${r.k}`);
}
