/**
 * The CLI as a real process: `node --import=tsx cmd/whepd/main.ts ...` from the repo root, so no
 * build is needed. Only commands that exit on their own are run here (no server is started).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs whepd with `args`; kills it after 20 s so a hang fails the test instead of stalling. */
function whepd(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import=tsx', 'cmd/whepd/main.ts', ...args],
      { cwd: repoRoot, timeout: 20_000, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

t.test('whepd check configs/demo.json exits 0 and says ok', async (t) => {
  const r = await whepd(['check', 'configs/demo.json']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'configs/demo.json: ok (1 stream)\n');
  t.equal(r.stderr, '');
});

t.test('whepd check <bad file> exits 2 naming every problem path on stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { bogus: 1 },
      limits: { viewersTotal: 'many' },
      log: { level: 'loud' },
      streams: [{ id: 'a', bogus: true }],
    }),
  );
  const r = await whepd(['check', file]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '', 'nothing on stdout');
  t.match(r.stderr, `whepd: invalid config ${file}:`);
  for (const line of [
    '/http/bogus: is not a known key',
    '/limits/viewersTotal: must be integer',
    '/log/level: must be one of',
    '/streams/0/input: is required',
    '/streams/0/bogus: is not a known key',
  ]) {
    t.match(r.stderr, `  ${line}`, line);
  }
});

t.test('whepd check <file that is not JSON> exits 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'broken.json');
  writeFileSync(file, '{ "streams": ');
  const r = await whepd(['check', file]);
  t.equal(r.code, 2);
  t.match(r.stderr, /\/: is not valid JSON/);
});

t.test('whepd check <missing file> exits 2 saying it cannot read it', async (t) => {
  const r = await whepd(['check', join(tmpdir(), `whepd-no-such-${process.pid}.json`)]);
  t.equal(r.code, 2);
  t.match(r.stderr, /cannot read file: .*ENOENT/);
});

t.test('whepd check without a file exits 64', async (t) => {
  const r = await whepd(['check']);
  t.equal(r.code, 64);
  t.match(r.stderr, 'whepd check: missing <file>');
});

t.test('whepd --help exits 0 and documents --config and check', async (t) => {
  const r = await whepd(['--help']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^whepd: /);
  t.match(r.stdout, 'whepd --config <file>');
  t.match(r.stdout, 'whepd check <file>');
  t.equal(r.stderr, '');
});

t.test('whepd without --config exits 64 and prints the usage on stderr', async (t) => {
  const r = await whepd([]);
  t.equal(r.code, 64);
  t.match(r.stderr, 'whepd: missing --config <file>');
  t.match(r.stderr, 'Usage:');
  t.equal(r.stdout, '');
  const r2 = await whepd(['--config']);
  t.equal(r2.code, 64, '--config with no value');
  t.match(r2.stderr, 'missing --config');
});

t.test('whepd --config <invalid file> exits 2 before serving', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ streams: [{ id: 'a' }] }));
  const r = await whepd(['--config', file]);
  t.equal(r.code, 2);
  t.match(r.stderr, '/streams/0/input: is required');
});

t.test('whepd -c <file> and --config=<file> read the file too; an unknown option or command exits 64', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ streams: [{ id: 'a' }] }));
  for (const args of [['-c', file], [`--config=${file}`]]) {
    const r = await whepd(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, '/streams/0/input: is required', args.join(' '));
  }
  for (const [args, says] of [[['--bogus'], /Unknown option '--bogus'/], [['serve'], /unknown command serve/]] as const) {
    const r = await whepd([...args]);
    t.equal(r.code, 64, args.join(' '));
    t.match(r.stderr, says);
    t.match(r.stderr, 'Usage:');
  }
  const v = await whepd(['-v']);
  t.match(v.stdout, /^\d+\.\d+\.\d+\n$/, '-v prints the version');
});

t.test('whepd check <SDP input with loop> exits 2 naming /streams/0/loop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sdp-loop.json');
  writeFileSync(file, JSON.stringify({ streams: [{ id: 'cam', input: '/srv/cam.sdp', loop: true }] }));
  const r = await whepd(['check', file]);
  t.equal(r.code, 2);
  t.match(r.stderr, '  /streams/0/loop: an SDP input is a live RTP session and cannot loop');
});
