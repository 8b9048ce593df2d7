/**
 * Janus (Debian package `janus`) as a reference WebRTC sender for the lip-sync harness: one
 * streaming-plugin RTP mountpoint (H264 + Opus) per input, its own config folder, the plain HTTP
 * API on 127.0.0.1, ended by PID. Janus gathers ICE candidates on every interface that is up but
 * never on a loopback one (src/ice.c skips IFF_LOOPBACK), so the caller gives it a non-loopback
 * address to use (`iceAddress`; reference-janus.sh puts one on a veth end in its namespace).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One mountpoint's UDP ports: Janus binds the four, FFmpeg's two sockets bind the local ones. */
export interface MountPorts {
  id: number;
  videoPort: number;
  videoRtcpPort: number;
  audioPort: number;
  audioRtcpPort: number;
  ffmpegVideoRtp: number;
  ffmpegVideoRtcp: number;
  ffmpegAudioRtp: number;
  ffmpegAudioRtcp: number;
}

/** The ports of mountpoint `id` (1-based): 10 ports from 5000 + 10 * id. */
export function mountPorts(id: number): MountPorts {
  const b = 5000 + 10 * id;
  return { id, videoPort: b, videoRtcpPort: b + 1, audioPort: b + 2, audioRtcpPort: b + 3, ffmpegVideoRtp: b + 4, ffmpegVideoRtcp: b + 5, ffmpegAudioRtp: b + 6, ffmpegAudioRtcp: b + 7 };
}

// The fmtp lines whepd answers with (internal/webrtc/negotiate.ts pickOpus; H264 as Chromium offers it).
const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';
const OPUS_FMTP = 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1';

function mountpoint(name: string, p: MountPorts): string {
  return `${name}: {
  type = "rtp"
  id = ${p.id}
  description = "${name}"
  media = (
    { type = "video" mid = "v" port = ${p.videoPort} rtcpport = ${p.videoRtcpPort} iface = "127.0.0.1" pt = 96 codec = "h264" fmtp = "${H264_FMTP}" },
    { type = "audio" mid = "a" port = ${p.audioPort} rtcpport = ${p.audioRtcpPort} iface = "127.0.0.1" pt = 97 codec = "opus" fmtp = "${OPUS_FMTP}" }
  )
}
`;
}

/** A running Janus. */
export interface Janus {
  url: string;
  pid: number;
  logPath: string;
  stop: () => Promise<void>;
}

/** Writes the config folder, spawns `janus`, waits (bounded) until GET /janus/info answers. */
export async function startJanus(o: { httpPort: number; iceAddress: string; mounts: { name: string; ports: MountPorts }[]; timeoutMs?: number }): Promise<Janus> {
  const dir = mkdtempSync(join(tmpdir(), 'whepd-janus-'));
  const lib = '/usr/lib/x86_64-linux-gnu/janus';
  writeFileSync(
    join(dir, 'janus.jcfg'),
    `general: { configs_folder = "${dir}" plugins_folder = "${lib}/plugins" transports_folder = "${lib}/transports" events_folder = "${lib}/events" loggers_folder = "${lib}/loggers" debug_level = 4 }
media: { rtp_port_range = "40000-40999" }
nat: { nice_debug = false ice_enforce_list = "${o.iceAddress}" }
plugins: { disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so" }
transports: { disable = "libjanus_websockets.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
`,
  );
  writeFileSync(join(dir, 'janus.transport.http.jcfg'), `general: { json = "plain" base_path = "/janus" http = true port = ${o.httpPort} ip = "127.0.0.1" https = false }\nadmin: { admin_http = false }\n`);
  writeFileSync(join(dir, 'janus.plugin.streaming.jcfg'), `general: { }\n${o.mounts.map((m) => mountpoint(m.name, m.ports)).join('')}`);
  const logPath = join(dir, 'janus.log');
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn('janus', ['-C', join(dir, 'janus.jcfg'), '-F', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exit;
    clearTimeout(t);
  };
  const url = `http://127.0.0.1:${o.httpPort}/janus`;
  const deadline = Date.now() + (o.timeoutMs ?? 15000);
  for (;;) {
    if (exited) throw new Error(`janus exited during start; log ${logPath}:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/info`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`janus not ready; log ${logPath}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (child.pid === undefined) throw new Error('janus has no pid');
  return { url, pid: child.pid, logPath, stop };
}

type JanusReply = { janus: string; data?: { id: number }; plugindata?: { data: Record<string, unknown> }; jsep?: { type: string; sdp: string }; error?: { reason: string } };

let tx = 0;
async function post(url: string, body: object): Promise<JanusReply> {
  const r = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction: `t${++tx}` }), signal: AbortSignal.timeout(5000) });
  const j = (await r.json()) as JanusReply;
  if (j.janus === 'error') throw new Error(`janus: ${j.error?.reason ?? 'error'}`);
  return j;
}

/** One viewer of a mountpoint over the HTTP API: session, streaming handle, keepalives. */
export class JanusViewer {
  readonly #session: string;
  readonly #handle: string;
  readonly #keepalive: NodeJS.Timeout;
  #closed = false;

  private constructor(session: string, handle: string) {
    this.#session = session;
    this.#handle = handle;
    // Janus drops a session after 60 s without a request (session_timeout).
    this.#keepalive = setInterval(() => void post(this.#session, { janus: 'keepalive' }).catch(() => {}), 15000);
  }

  /** Creates a session and attaches janus.plugin.streaming. */
  static async open(url: string): Promise<JanusViewer> {
    const s = await post(url, { janus: 'create' });
    const session = `${url}/${s.data!.id}`;
    const h = await post(session, { janus: 'attach', plugin: 'janus.plugin.streaming' });
    return new JanusViewer(session, `${session}/${h.data!.id}`);
  }

  /** `watch` on mountpoint `id`: resolves with Janus's SDP offer (from the long poll, bounded). */
  async watch(id: number, timeoutMs = 10000): Promise<string> {
    await post(this.#handle, { janus: 'message', body: { request: 'watch', id } });
    return (await this.#event((e) => e.jsep?.type === 'offer', timeoutMs)).jsep!.sdp;
  }

  /** `start` with the browser's answer. */
  async start(answer: string, timeoutMs = 10000): Promise<void> {
    await post(this.#handle, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
    await this.#event((e) => e.plugindata?.data?.result !== undefined, timeoutMs);
  }

  async #event(want: (e: JanusReply) => boolean, timeoutMs: number): Promise<JanusReply> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await fetch(`${this.#session}?maxev=1&rid=${Date.now()}`, { signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())) });
      const e = (await r.json()) as JanusReply;
      if (e.plugindata?.data?.error) throw new Error(`janus streaming: ${String(e.plugindata.data.error)}`);
      if (want(e)) return e;
    }
    throw new Error(`janus: no matching event within ${timeoutMs} ms`);
  }

  /** Destroys the session (hangs up its PeerConnection); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepalive);
    await post(this.#session, { janus: 'destroy' }).catch(() => {});
  }
}
