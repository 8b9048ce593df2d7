/** Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function, top first. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** One line of the summary. */
export interface HotFunction {
  pct: number;
  name: string;
  where: string;
}

/** The `top` functions by self samples, as a percentage of all samples (idle included). */
export function topFunctions(file: string, top = 20): { functions: HotFunction[]; idlePct: number; samples: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<string, { n: number; name: string; where: string }>();
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}@${where}`;
    const h = hits.get(key) ?? { n: 0, name: f.functionName || '(anonymous)', where };
    h.n++;
    hits.set(key, h);
  }
  const total = profile.samples.length || 1;
  const idle = [...hits.values()].filter((h) => h.name === '(idle)').reduce((a, h) => a + h.n, 0);
  const functions = [...hits.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, top)
    .map((h) => ({ pct: Math.round((1000 * h.n) / total) / 10, name: h.name, where: h.where }));
  return { functions, idlePct: Math.round((1000 * idle) / total) / 10, samples: profile.samples.length };
}
