/**
 * The folder edge table of the style guide (/work/shared/STYLE.md, "Suggested map"), enforced by
 * reading the imports of every non-test .ts file under internal/ and cmd/: a folder imports
 * another only through its index.ts, only the folders its row allows, and never the test helpers.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Folder -> the folders it may import. An empty reason is an edge the style guide's table states;
 * the others say why the edge is there. Dependencies point one way, toward errors and log.
 */
const ALLOWED: Record<string, Record<string, string>> = {
  'cmd/whepd': {
    'internal/app': '',
    'internal/config': '',
    'internal/log': '',
    'internal/errors': 'a ConfigError is exit code 2',
    'internal/service': 'sd_notify READY/RELOADING/STOPPING belong to the process lifecycle',
  },
  // The composition root knows every module; only the test helpers are off limits.
  'internal/app': {
    'internal/admin': '',
    'internal/auth': '',
    'internal/cluster': '',
    'internal/config': '',
    'internal/errors': '',
    'internal/ffmpeg': '',
    'internal/log': '',
    'internal/metrics': '',
    'internal/player': '',
    'internal/rtp': '',
    'internal/service': '',
    'internal/shard': '',
    'internal/stream': '',
    'internal/supervisor': '',
    'internal/webrtc': '',
    'internal/whep': '',
  },
  'internal/whep': { 'internal/stream': '', 'internal/webrtc': '', 'internal/errors': '', 'internal/log': '' },
  'internal/webrtc': { 'internal/rtp': '', 'internal/errors': '', 'internal/log': '' },
  // stream is the hub and its deliveries: it never runs FFmpeg (the supervisor does).
  'internal/stream': { 'internal/rtp': '', 'internal/errors': '', 'internal/log': '' },
  'internal/ffmpeg': { 'internal/errors': '', 'internal/log': '' },
  'internal/supervisor': {
    'internal/ffmpeg': 'issue 12 item 1: runs probe -> bind -> spawn -> watchdog -> backoff',
    'internal/rtp': 'binds the ingest sockets FFmpeg sends to',
    'internal/stream': 'drives the hub (start/stop on viewer counts, teardown reasons)',
    'internal/errors': '',
    'internal/log': '',
  },
  'internal/rtp': { 'internal/errors': '', 'internal/log': '' },
  'internal/config': { 'internal/errors': '' },
  'internal/errors': {},
  'internal/log': {},
  'internal/auth': { 'internal/errors': '', 'internal/log': '' },
  'internal/metrics': { 'internal/stream': 'reads StreamStatus at scrape time', 'internal/log': '' },
  'internal/player': { 'internal/errors': '', 'internal/log': '' },
  'internal/admin': { 'internal/stream': 'lists StreamStatus', 'internal/errors': '', 'internal/log': '' },
  'internal/shard': {
    'internal/stream': 'a shard process runs a LocalDelivery per stream; the pool gives each stream a ShardDelivery',
    'internal/webrtc': 'a shard process holds the viewers\' peers',
    'internal/rtp': 'clock points travel to the shards with the run',
    'internal/errors': '',
    'internal/log': '',
  },
  'internal/service': { 'internal/errors': '', 'internal/log': '' },
  // The agent-check line is pure and its listener takes a Logger: it needs nothing of whepd.
  'internal/cluster': { 'internal/log': '' },
  // Test helpers build whole Apps; only test files import them (checked below).
  'internal/testkit': {
    'internal/app': '',
    'internal/config': '',
    'internal/log': '',
    'internal/whep': 'the in-memory WHEP rig mounts whepRoutes() with fakes of its interfaces',
    'internal/stream': 'the rig\'s fake stream implements the hub\'s viewer interface',
    'internal/webrtc': 'the rig\'s fake peer reports PeerStats',
  },
};

/**
 * Edges that break the table today and are being removed elsewhere; delete an entry once its
 * edge is gone (the test fails while a stale entry stays).
 */
const KNOWN_VIOLATIONS: { file: string; imports: string; why: string }[] = [];

/** Every .ts file under `dir` (repo-relative, posix separators), tests excluded. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    const rel = posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Module specifiers of static imports, re-exports, side-effect and dynamic imports. */
function specifiers(code: string): string[] {
  const found: string[] = [];
  const patterns = [/^\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1] as string);
  return found;
}

/** One relative import that crosses folders. */
interface Edge {
  file: string;
  from: string;
  to: string;
  target: string;
  spec: string;
}

function crossFolderEdges(): { edges: Edge[]; noJs: string[] } {
  const edges: Edge[] = [];
  const noJs: string[] = [];
  for (const file of [...sources('internal'), ...sources('cmd')]) {
    for (const spec of specifiers(readFileSync(join(repoRoot, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      if (!spec.endsWith('.js')) noJs.push(`${file}: ${spec}`);
      const target = relative(repoRoot, normalize(join(repoRoot, dirname(file), spec))).split('\\').join('/');
      const from = dirname(file);
      const to = dirname(target);
      if (from !== to) edges.push({ file, from, to, target, spec });
    }
  }
  return { edges, noJs };
}

const known = (e: Edge) => KNOWN_VIOLATIONS.some((k) => k.file === e.file && k.imports === e.to);

t.test('import edges: every folder with code has a row in the table', async (t) => {
  const folders = new Set([...sources('internal'), ...sources('cmd')].map((f) => dirname(f)));
  for (const f of folders) t.ok(ALLOWED[f], `${f} has a row in ALLOWED`);
});

t.test('import edges: folders import each other only through index.ts, with .js extensions', async (t) => {
  const { edges, noJs } = crossFolderEdges();
  t.ok(edges.length > 30, `found ${edges.length} cross-folder imports (the scan works)`);
  t.same(edges.filter((e) => !/\/index\.js$/.test(e.target)).map((e) => `${e.file}: ${e.spec}`), [], 'no deep imports');
  t.same(noJs, [], 'relative imports end in .js');
});

t.test('import edges: each folder imports only what its row allows', async (t) => {
  const { edges } = crossFolderEdges();
  const violations = edges.filter((e) => !(e.to in (ALLOWED[e.from] ?? {})) && !known(e)).map((e) => `${e.file} imports ${e.to} (${e.spec})`);
  t.same([...new Set(violations)], [], 'no import outside the table');
  for (const k of KNOWN_VIOLATIONS) {
    t.ok(edges.some((e) => e.file === k.file && e.to === k.imports), `KNOWN_VIOLATIONS entry still needed (delete it when fixed): ${k.file} -> ${k.imports}`);
  }
});

t.test('import edges: no test helper in code that ships', async (t) => {
  const { edges } = crossFolderEdges();
  const leaks = edges.filter((e) => e.to === 'internal/testkit' && e.from !== 'internal/testkit').map((e) => e.file);
  t.same(leaks, [], 'internal/testkit is imported by test files only');
});
