/** Verdicts on a getStats() window (e2e/browser/in-page.ts sampleStats) of a receiving peer. */
import { expect } from '../browser/checks.js';
import type { StatsWindow } from '../browser/in-page.js';

/** What a window showed, for notes and the docs' table. */
export interface Figures {
  seconds: number;
  fps: number;
  framesDecoded: [number, number];
  videoCodec: string;
  width: number;
  height: number;
  audioSamplesPerS: number;
  /** Share of the window's audio samples that were concealment, 0..1. */
  concealed: number;
  /** The loudest audioLevel sampled (0..1). */
  audioLevel: number;
}

/** The first and last sample, and the figures between them; fails on a window too short to judge. */
export function figures(w: StatsWindow): Figures {
  expect(!w.error, `stats: ${w.error}`);
  const first = w.samples[0];
  const last = w.samples.at(-1);
  expect(first !== undefined && last !== undefined && w.samples.length >= 3, `too few stats samples (${w.samples.length})`);
  const seconds = (last.at - first.at) / 1000;
  const samples = last.totalSamplesReceived - first.totalSamplesReceived;
  return {
    seconds,
    fps: (last.framesDecoded - first.framesDecoded) / seconds,
    framesDecoded: [first.framesDecoded, last.framesDecoded],
    videoCodec: last.videoCodec,
    width: last.width,
    height: last.height,
    audioSamplesPerS: samples / seconds,
    concealed: samples > 0 ? (last.concealedSamples - first.concealedSamples) / samples : 0,
    audioLevel: Math.max(...w.samples.map((x) => x.audioLevel)),
  };
}

/** Video: frames of `codec` (a mimeType such as video/VP8) decoded at >= `minFps`. */
export function judgeVideo(f: Figures, codec: string, minFps = 20): string {
  expect(f.videoCodec.toLowerCase() === codec.toLowerCase(), `video codec is "${f.videoCodec || 'none'}", want ${codec}`);
  expect(f.framesDecoded[1] > f.framesDecoded[0], `framesDecoded did not increase (${f.framesDecoded[0]} -> ${f.framesDecoded[1]})`);
  expect(f.fps >= minFps, `${f.fps.toFixed(1)} frames decoded per second, want >= ${minFps}`);
  return `${f.videoCodec} ${f.width}x${f.height}, framesDecoded ${f.framesDecoded[0]}->${f.framesDecoded[1]} (${f.fps.toFixed(1)} fps over ${f.seconds.toFixed(1)} s)`;
}

/**
 * Audio: at least 40,000 samples/s (Opus decodes to 48 kHz), no more than 20 % of them concealment,
 * and not silence (audioLevel > 0: whepd's fixtures never are; a muted element still measures it).
 */
export function judgeAudio(f: Figures): string {
  expect(f.audioSamplesPerS >= 40_000, `${f.audioSamplesPerS.toFixed(0)} audio samples/s (totalSamplesReceived), want >= 40000`);
  expect(f.concealed <= 0.2, `${(f.concealed * 100).toFixed(1)} % of the audio samples were concealment, want <= 20 %`);
  expect(f.audioLevel > 0, 'audioLevel stayed 0: the decoded audio is silence');
  return `${f.audioSamplesPerS.toFixed(0)} audio samples/s, ${(f.concealed * 100).toFixed(1)} % concealed, max audioLevel ${f.audioLevel.toFixed(3)}`;
}
