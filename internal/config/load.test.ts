import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { isFileInput, isSdpInput, loadConfig, parseConfig, parseListen } from './load.js';


const minimal = () => ({ streams: [{ id: 'demo', input: 'fixtures/media/demo.mp4' }] });

/** Runs parseConfig and returns the ConfigError it throws (fails the test if it does not). */
function problemsOf(t: Test, raw: unknown): { path: string; message: string }[] {
  try {
    parseConfig(raw, 'test.json');
  } catch (err) {
    t.type(err, ConfigError, 'throws ConfigError');
    return [...(err as ConfigError).problems];
  }
  t.fail('parseConfig accepted an invalid config');
  return [];
}

function paths(problems: { path: string }[]): string[] {
  return problems.map((p) => p.path).sort();
}

// t.has (every listed key with exactly this value; extra keys allowed) so that options added to the
// schema later do not break these checks, while a changed default still fails them.
t.test('parseConfig() fills every default on a minimal config', async (t) => {
  const cfg = parseConfig(minimal());
  t.has(cfg.http, { listen: '127.0.0.1:8889', corsOrigins: ['*'], maxBodyBytes: 65536 });
  t.same(cfg.http.corsOrigins, ['*']);
  t.has(cfg.limits, { viewersPerStream: 8, viewersTotal: 32 });
  t.has(cfg.log, { level: 'info' });
  t.has(cfg.webrtc, { gatheringTimeoutMs: 5000, handshakeTimeoutMs: 10000, disconnectGraceMs: 5000, reconnectDelayMs: 1000 });
  t.same(cfg.webrtc.iceServers, []);
  t.has(cfg.ffmpeg, {
    path: 'ffmpeg',
    ffprobePath: 'ffprobe',
    probeTimeoutMs: 15000,
    restartMinMs: 1000,
    restartMaxMs: 30000,
    stopGraceMs: 2000,
  });
  t.equal(cfg.streams.length, 1);
  t.has(cfg.streams[0], {
    id: 'demo',
    input: 'fixtures/media/demo.mp4',
    loop: false,
    video: 'auto',
    keyframeIntervalS: 1,
    videoBitrateKbps: 2500,
    audioBitrateKbps: 96,
  });
  t.same(cfg.streams[0]?.inputArgs, []);
  t.equal(cfg.webrtc.bindAddress, undefined, 'bindAddress has no default');
  t.equal(cfg.webrtc.portRangeBegin, undefined);
});

t.test('parseConfig() keeps the values it was given', async (t) => {
  const cfg = parseConfig({
    http: { listen: '[::1]:9000', corsOrigins: ['https://a.example'], maxBodyBytes: 2048 },
    limits: { viewersPerStream: 2, viewersTotal: 3 },
    webrtc: { portRangeBegin: 40000, portRangeEnd: 40100, iceServers: ['stun:stun.example:3478'] },
    streams: [{ id: 'cam-1', input: 'rtsp://cam/1', video: 'transcode', inputArgs: ['-rtsp_transport', 'tcp'] }],
  });
  t.equal(cfg.http.listen, '[::1]:9000');
  t.same(cfg.http.corsOrigins, ['https://a.example']);
  t.equal(cfg.http.maxBodyBytes, 2048);
  t.has(cfg.limits, { viewersPerStream: 2, viewersTotal: 3 });
  t.equal(cfg.webrtc.portRangeBegin, 40000);
  t.equal(cfg.webrtc.portRangeEnd, 40100);
  t.same(cfg.webrtc.iceServers, ['stun:stun.example:3478']);
  t.equal(cfg.streams[0]?.video, 'transcode');
  t.same(cfg.streams[0]?.inputArgs, ['-rtsp_transport', 'tcp']);
});

t.test('parseConfig() returns a deeply frozen config and does not touch its input', async (t) => {
  const raw = {
    webrtc: { iceServers: [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }] },
    streams: [{ id: 'demo', input: 'a.mp4', inputArgs: ['-x'] }],
  };
  const cfg = parseConfig(raw);
  t.ok(Object.isFrozen(cfg), 'root');
  t.ok(Object.isFrozen(cfg.http), 'http');
  t.ok(Object.isFrozen(cfg.http.corsOrigins), 'http.corsOrigins');
  t.ok(Object.isFrozen(cfg.limits), 'limits');
  t.ok(Object.isFrozen(cfg.ffmpeg), 'ffmpeg');
  t.ok(Object.isFrozen(cfg.webrtc.iceServers), 'webrtc.iceServers');
  t.ok(Object.isFrozen(cfg.webrtc.iceServers[0]), 'webrtc.iceServers[0]');
  const ice = cfg.webrtc.iceServers[0] as { urls: string[] };
  t.ok(Object.isFrozen(ice.urls), 'webrtc.iceServers[0].urls');
  t.ok(Object.isFrozen(cfg.streams), 'streams');
  t.ok(Object.isFrozen(cfg.streams[0]), 'streams[0]');
  t.ok(Object.isFrozen(cfg.streams[0]?.inputArgs), 'streams[0].inputArgs');
  t.throws(() => {
    (cfg.limits as { viewersTotal: number }).viewersTotal = 1;
  }, TypeError, 'writing a frozen field throws in strict mode');
  t.same(raw, {
    webrtc: { iceServers: [{ urls: ['turn:t.example:3478'], username: 'u', credential: 'p' }] },
    streams: [{ id: 'demo', input: 'a.mp4', inputArgs: ['-x'] }],
  }, 'input object left as it was (no defaults written into it)');
  t.notOk(Object.isFrozen(raw), 'input not frozen');
});

t.test('parseConfig() called twice gives independent configs (defaults are not shared)', async (t) => {
  const a = parseConfig(minimal());
  const b = parseConfig(minimal());
  t.not(a.http, b.http);
  t.not(a.http.corsOrigins, b.http.corsOrigins);
  t.not(a.streams[0]?.inputArgs, b.streams[0]?.inputArgs);
  t.same(b.http.corsOrigins, ['*']);
});

t.test('parseConfig() names an unknown key with its JSON path at every depth', async (t) => {
  const problems = problemsOf(t, {
    bogus: 1,
    http: { listen: '127.0.0.1:1', nope: true },
    limits: { extra: 3 },
    streams: [{ id: 'a', input: 'a.mp4' }, { id: 'b', input: 'b.mp4', bogus: 'x' }],
  });
  t.same(paths(problems), ['/bogus', '/http/nope', '/limits/extra', '/streams/1/bogus']);
  for (const p of problems) t.equal(p.message, 'is not a known key', p.path);
});

t.test('parseConfig() error message lists each problem as "<path>: <message>"', async (t) => {
  const err = t.throws(() => parseConfig({ streams: [{ id: 'a', input: 'a.mp4', bogus: 1 }] }, 'my.json')) as ConfigError;
  t.equal(err.code, 'CONFIG_INVALID');
  t.match(err.message, /^invalid config my\.json:\n/);
  t.match(err.message, '/streams/0/bogus: is not a known key');
});

t.test('parseConfig() reports missing required keys', async (t) => {
  t.same(problemsOf(t, {}), [{ path: '/streams', message: 'is required' }]);
  const p = problemsOf(t, { streams: [{ id: 'a' }, { input: 'x.mp4' }] });
  t.same(paths(p), ['/streams/0/input', '/streams/1/id']);
  for (const x of p) t.equal(x.message, 'is required');
  t.same(paths(problemsOf(t, { streams: [] })), ['/streams'], 'an empty stream list is refused');
});

t.test('parseConfig() reports wrong types with the expected type', async (t) => {
  const p = problemsOf(t, {
    http: { listen: 8889 },
    limits: { viewersTotal: 'many' },
    streams: [{ id: 'a', input: 'a.mp4', loop: 'yes', inputArgs: '-re' }],
  });
  const byPath = new Map(p.map((x) => [x.path, x.message]));
  t.equal(byPath.get('/http/listen'), 'must be string');
  t.equal(byPath.get('/limits/viewersTotal'), 'must be integer');
  t.equal(byPath.get('/streams/0/loop'), 'must be boolean');
  t.equal(byPath.get('/streams/0/inputArgs'), 'must be array');
  t.same(problemsOf(t, 'not an object'), [{ path: '/', message: 'must be object' }], 'root type');
  t.same(problemsOf(t, { streams: {} }), [{ path: '/streams', message: 'must be array' }]);
});

t.test('parseConfig() reports an enum value outside its set, listing the allowed values', async (t) => {
  const p = problemsOf(t, { log: { level: 'loud' }, streams: [{ id: 'a', input: 'a.mp4', video: 'hevc' }] });
  const byPath = new Map(p.map((x) => [x.path, x.message]));
  t.equal(byPath.get('/streams/0/video'), 'must be one of "auto", "copy", "transcode"');
  t.equal(byPath.get('/log/level'), 'must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"');
  t.equal(p.length, 2);
});

t.test('parseConfig() reports out-of-range numbers and bad stream ids', async (t) => {
  const p = problemsOf(t, {
    limits: { viewersPerStream: 0 },
    http: { maxBodyBytes: 10 },
    streams: [{ id: 'has space', input: 'a.mp4', keyframeIntervalS: 0 }],
  });
  t.same(paths(p), ['/http/maxBodyBytes', '/limits/viewersPerStream', '/streams/0/id', '/streams/0/keyframeIntervalS']);
});

t.test('parseConfig() reports every schema problem at once', async (t) => {
  const p = problemsOf(t, {
    bogus: true,
    http: { maxBodyBytes: 'big' },
    log: { level: 'loud' },
    streams: [{ id: 'a', video: 'hevc' }],
  });
  t.same(paths(p), ['/bogus', '/http/maxBodyBytes', '/log/level', '/streams/0/input', '/streams/0/video']);
});

t.test('parseConfig() summarizes a bad ICE server in one problem', async (t) => {
  const p = problemsOf(t, { webrtc: { iceServers: ['http://not-ice'] }, streams: [{ id: 'a', input: 'a.mp4' }] });
  t.same(p, [{ path: '/webrtc/iceServers/0', message: 'must be a stun:/turn: URL string or an object with "urls"' }]);
});

t.test('parseConfig() validates webrtc.turn (TURN REST credentials) with JSON paths', async (t) => {
  const ok = parseConfig({ ...minimal(), webrtc: { turn: { urls: ['turn:127.0.0.1:3478?transport=tcp'], secret: 'a-long-secret' } } });
  t.equal(ok.webrtc.turn?.ttlS, 86400, 'ttlS defaults to a day');
  t.same(paths(problemsOf(t, { ...minimal(), webrtc: { turn: { urls: ['stun:127.0.0.1'], secret: 'short', ttlS: 5 } } })), ['/webrtc/turn/secret', '/webrtc/turn/ttlS', '/webrtc/turn/urls/0']);
  t.same(paths(problemsOf(t, { ...minimal(), webrtc: { turn: { urls: ['turn:127.0.0.1'] } } })), ['/webrtc/turn/secret']);
});

t.test('parseConfig() checks udpPort, advertisedAddresses and advertiseOnly with JSON paths', async (t) => {
  const ok = parseConfig({ ...minimal(), webrtc: { udpPort: 8189, advertisedAddresses: ['203.0.113.7', '2001:db8::7', 'edge.example.com'], advertiseOnly: true } });
  t.equal(ok.webrtc.udpPort, 8189);
  t.same(parseConfig(minimal()).webrtc.advertisedAddresses, [], 'none by default');
  t.same(problemsOf(t, { ...minimal(), webrtc: { udpPort: 8189, portRangeBegin: 40000, portRangeEnd: 40999 } }).map((p) => p.path), ['/webrtc/udpPort']);
  t.same(problemsOf(t, { ...minimal(), webrtc: { advertisedAddresses: ['203.0.113.7', 'not a host!'] } }).map((p) => p.path), ['/webrtc/advertisedAddresses/1']);
  t.same(problemsOf(t, { ...minimal(), webrtc: { advertiseOnly: true } }).map((p) => p.path), ['/webrtc/advertiseOnly']);
  t.same(problemsOf(t, { ...minimal(), webrtc: { udpPort: 80 } }).map((p) => p.path), ['/webrtc/udpPort']);
});

t.test('parseConfig() validates whep.requireIfMatch: a boolean, false by default', async (t) => {
  t.equal(parseConfig(minimal()).whep.requireIfMatch, false, 'default');
  t.ok(Object.isFrozen(parseConfig(minimal()).whep), 'frozen like every section');
  t.equal(parseConfig({ ...minimal(), whep: { requireIfMatch: true } }).whep.requireIfMatch, true);
  t.same(problemsOf(t, { ...minimal(), whep: { requireIfMatch: 'yes' } }), [{ path: '/whep/requireIfMatch', message: 'must be boolean' }]);
  t.same(problemsOf(t, { ...minimal(), whep: { requireIfmatch: true } }), [{ path: '/whep/requireIfmatch', message: 'is not a known key' }]);
  t.same(problemsOf(t, { ...minimal(), whep: true }), [{ path: '/whep', message: 'must be object' }]);
});

t.test('parseConfig() refuses duplicate stream ids naming both paths', async (t) => {
  const p = problemsOf(t, {
    streams: [
      { id: 'a', input: 'a.mp4' },
      { id: 'b', input: 'b.mp4' },
      { id: 'a', input: 'c.mp4' },
    ],
  });
  t.same(p, [{ path: '/streams/2/id', message: 'duplicates /streams/0/id "a"' }]);
});

t.test('parseConfig() refuses loop on a non-file input but allows it on files', async (t) => {
  const p = problemsOf(t, { streams: [{ id: 'a', input: 'rtmp://host/live/key', loop: true }] });
  t.same(p, [{ path: '/streams/0/loop', message: 'only file inputs can loop' }]);
  t.equal(parseConfig({ streams: [{ id: 'a', input: 'clip.mp4', loop: true }] }).streams[0]?.loop, true);
  t.equal(parseConfig({ streams: [{ id: 'a', input: 'file:/tmp/clip.mp4', loop: true }] }).streams[0]?.loop, true);
});

t.test('parseConfig() refuses loop on an SDP input: it describes a live RTP session (issue 12 defect 6)', async (t) => {
  for (const [input, inputArgs] of [['/srv/cam.sdp', []], ['file:/srv/CAM.SDP', []], ['/srv/session', ['-f', 'sdp']]] as const) {
    const p = problemsOf(t, { streams: [{ id: 'a', input, inputArgs, loop: true }] });
    t.same(p, [{ path: '/streams/0/loop', message: 'an SDP input is a live RTP session and cannot loop' }], input);
  }
  t.equal(parseConfig({ streams: [{ id: 'a', input: '/srv/cam.sdp' }] }).streams[0]?.loop, false, 'an SDP input without loop is fine');
});

t.test('isSdpInput() tells SDP session files from other inputs', async (t) => {
  for (const [input, args] of [['cam.sdp', []], ['file:/tmp/a.SDP', []], ['/tmp/session', ['-f', 'sdp']]] as const) t.equal(isSdpInput(input, args), true, input);
  for (const input of ['a.mp4', 'rtsp://cam/1', 'sdp.mp4', 'rtmp://host/live/x.sdp.key']) t.equal(isSdpInput(input, []), false, input);
});

t.test('parseConfig() refuses viewersPerStream > viewersTotal', async (t) => {
  const p = problemsOf(t, { limits: { viewersPerStream: 10, viewersTotal: 5 }, streams: [{ id: 'a', input: 'a.mp4' }] });
  t.same(p, [{ path: '/limits/viewersPerStream', message: 'must be <= viewersTotal (5)' }]);
  t.has(parseConfig({ limits: { viewersPerStream: 5, viewersTotal: 5 }, streams: [{ id: 'a', input: 'a.mp4' }] }).limits, {
    viewersPerStream: 5,
    viewersTotal: 5,
  }, 'equal caps are fine');
  const q = problemsOf(t, { limits: { viewersPerStream: 40 }, streams: [{ id: 'a', input: 'a.mp4' }] });
  t.same(paths(q), ['/limits/viewersPerStream'], 'checked against the default total (32) too');
});

t.test('parseConfig() refuses a bad http.listen', async (t) => {
  for (const listen of ['nope', '127.0.0.1', '127.0.0.1:99999', ':8889', 'a:b:8889', '127.0.0.1:port']) {
    const p = problemsOf(t, { http: { listen }, streams: [{ id: 'a', input: 'a.mp4' }] });
    t.same(paths(p), ['/http/listen'], listen);
    t.match(p[0]?.message, /^must be host:port/, listen);
  }
});

t.test('parseConfig() checks the WebRTC port range and restart bounds', async (t) => {
  t.same(paths(problemsOf(t, { webrtc: { portRangeBegin: 40000 }, streams: [{ id: 'a', input: 'a.mp4' }] })), ['/webrtc/portRangeEnd']);
  t.same(paths(problemsOf(t, { webrtc: { portRangeBegin: 50000, portRangeEnd: 40000 }, streams: [{ id: 'a', input: 'a.mp4' }] })), [
    '/webrtc/portRangeEnd',
  ]);
  t.same(paths(problemsOf(t, { ffmpeg: { restartMinMs: 5000, restartMaxMs: 1000 }, streams: [{ id: 'a', input: 'a.mp4' }] })), [
    '/ffmpeg/restartMaxMs',
  ]);
});

t.test('parseConfig() reports every cross-field problem at once', async (t) => {
  const p = problemsOf(t, {
    http: { listen: 'nope' },
    limits: { viewersPerStream: 10, viewersTotal: 5 },
    streams: [
      { id: 'a', input: 'srt://host:9000', loop: true },
      { id: 'a', input: 'b.mp4' },
    ],
  });
  t.same(paths(p), ['/http/listen', '/limits/viewersPerStream', '/streams/0/loop', '/streams/1/id']);
});

t.test(
  'parseConfig() reports schema and cross-field problems together',
  async (t) => {
    const p = problemsOf(t, {
      http: { listen: 'nope' },
      streams: [{ id: 'a', input: 'a.mp4', bogus: 1 }],
    });
    t.same(paths(p), ['/http/listen', '/streams/0/bogus']);
  },
);

t.test('parseListen() splits host:port and refuses anything else', async (t) => {
  t.same(parseListen('127.0.0.1:8889'), { host: '127.0.0.1', port: 8889 });
  t.same(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  t.same(parseListen('[::1]:8889'), { host: '::1', port: 8889 });
  t.same(parseListen('0.0.0.0:65535'), { host: '0.0.0.0', port: 65535 });
  for (const bad of ['', '8889', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:123456', '::1:8889', '[::1]8889', 'host:-1', ':80']) {
    t.equal(parseListen(bad), undefined, JSON.stringify(bad));
  }
});

t.test('isFileInput() tells files from URLs', async (t) => {
  for (const f of ['fixtures/media/demo.mp4', '/abs/path.mkv', 'file:/tmp/a.mp4', 'file:///tmp/a.mp4', 'name with spaces.mp4', 'C:\\media\\a.mp4']) {
    t.equal(isFileInput(f), true, f);
  }
  for (const u of ['rtmp://host/live', 'srt://host:9000', 'https://cdn/x.m3u8', 'rtsp://cam/1', 'udp://127.0.0.1:5000']) {
    t.equal(isFileInput(u), false, u);
  }
});

t.test('loadConfig() reads and validates a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(minimal()));
  const cfg = loadConfig(good);
  t.equal(cfg.streams[0]?.id, 'demo');
  t.equal(cfg.http.listen, '127.0.0.1:8889');
  t.ok(Object.isFrozen(cfg));

  const invalid = join(dir, 'invalid.json');
  writeFileSync(invalid, JSON.stringify({ streams: [{ id: 'a', bogus: 1 }] }));
  const e1 = t.throws(() => loadConfig(invalid)) as ConfigError;
  t.type(e1, ConfigError);
  t.same(paths([...e1.problems]), ['/streams/0/bogus', '/streams/0/input']);
  t.match(e1.message, `invalid config ${invalid}:`, 'message names the file');

  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{ "streams": [ ');
  const e2 = t.throws(() => loadConfig(badJson)) as ConfigError;
  t.type(e2, ConfigError);
  t.equal(e2.problems.length, 1);
  t.equal(e2.problems[0]?.path, '/');
  t.match(e2.problems[0]?.message, /^is not valid JSON: /);
  t.type(e2.cause, SyntaxError, 'keeps the parse error as cause');

  const missing = join(dir, 'does-not-exist.json');
  const e3 = t.throws(() => loadConfig(missing)) as ConfigError;
  t.type(e3, ConfigError);
  t.equal(e3.problems[0]?.path, '/');
  t.match(e3.problems[0]?.message, /^cannot read file: .*ENOENT/);
});

t.test('parseConfig() bounds webrtc.reconnectDelayMs to the 5 s shutdown budget', async (t) => {
  const base = { streams: [{ id: 'a', input: 'a.mp4' }] };
  t.equal(parseConfig({ ...base, webrtc: { reconnectDelayMs: 0 } }).webrtc.reconnectDelayMs, 0);
  const problems = problemsOf(t, { ...base, webrtc: { reconnectDelayMs: 3001 } });
  t.same(paths(problems), ['/webrtc/reconnectDelayMs']);
});

t.test('streams[].fallbackVideo: "vp8" by default, "none" allowed, anything else names its path', async (t) => {
  t.equal(parseConfig(minimal()).streams[0]!.fallbackVideo, 'vp8');
  t.equal(parseConfig({ streams: [{ id: 'a', input: 'a.mp4', fallbackVideo: 'none' }] }).streams[0]!.fallbackVideo, 'none');
  t.same(paths(problemsOf(t, { streams: [{ id: 'a', input: 'a.mp4', fallbackVideo: 'av1' }] })), ['/streams/0/fallbackVideo']);
});
