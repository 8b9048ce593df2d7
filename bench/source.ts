/**
 * The benchmark's source: a 720p30 H264 constrained-baseline file (1 s GOP, SPS/PPS before
 * every IDR, CBR 2.5 Mbps with filler) plus Opus 48 kHz, generated once with FFmpeg's lavfi
 * testsrc2 and cached. whepd reads it in a loop in real time (-re) and copies the video, so its
 * FFmpeg child only remuxes to RTP (and encodes Opus, which whepd always does).
 *
 * A pre-generated file instead of a live encoder: the packet stream is the same on every run
 * (deterministic figures), and no x264 encoder competes with whepd for the 2 cores.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Encoding parameters; the cache file name changes with them. */
export const SOURCE = { width: 1280, height: 720, fps: 30, gop: 30, videoKbps: 2500, audioKbps: 96, seconds: 60 } as const;

/** Returns the cached source file, generating it (about 15 s) when missing. */
export function ensureSource(ffmpegPath: string): string {
  const s = SOURCE;
  const dir = join(tmpdir(), 'whepd-bench');
  const file = join(dir, `source-${s.width}x${s.height}p${s.fps}-g${s.gop}-${s.videoKbps}k-${s.seconds}s.mkv`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.partial.mkv`;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=${s.fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(s.seconds), '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-tune', 'zerolatency',
    '-bf', '0', '-g', String(s.gop), '-keyint_min', String(s.gop), '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-b:v', `${s.videoKbps}k`, '-minrate', `${s.videoKbps}k`, '-maxrate', `${s.videoKbps}k`, '-bufsize', `${s.videoKbps}k`,
    // nal-hrd=cbr pads with filler NAL units: a constant packet rate like a broadcast encoder's.
    '-x264-params', 'repeat-headers=1:nal-hrd=cbr',
    '-c:a', 'libopus', '-b:a', `${s.audioKbps}k`, '-ac', '2', '-ar', '48000',
    partial,
  ];
  process.stderr.write(`bench: generating the source ${file} (once)\n`);
  const r = spawnSync(ffmpegPath, args, { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`generating the source failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
  renameSync(partial, file);
  return file;
}
