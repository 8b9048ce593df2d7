/**
 * The whepd player page: plays one WHEP endpoint in a <video>, reconnects by itself, and says in
 * words what is going on. URL parameters (as MediaMTX's reader page): `src` (absolute WHEP URL,
 * default same-origin /whep/<stream>), `controls`, `muted`, `autoplay`, `stats`, `trickle` (0/1).
 */
import { WhepHttpError, WhepSession } from './whep-client.mjs';
import { OFFLINE_TEXT, describe } from './messages.mjs';
import { formatStats, readStats } from './stats.mjs';
import { findEventsLink, subscribe } from './events.mjs';
import type { EventSubscription } from './events.mjs';
import type { PlaybackStats } from './stats.mjs';

/** What the page is doing; also on `document.body.dataset.state` for tests and CSS. */
export type PlayerState = 'idle' | 'connecting' | 'waiting-video' | 'playing' | 'retrying';

/** The debugging handle at `window.whepPlayer`. */
export interface PlayerHandle {
  readonly state: PlayerState;
  readonly pc: RTCPeerConnection | undefined;
  readonly video: HTMLVideoElement;
  /** Every status text shown, oldest first (capped). */
  readonly history: string[];
  /** POST sent -> first video frame presented, for the current session. */
  readonly ttffMs: number | undefined;
  readonly stats: PlaybackStats | undefined;
  readonly endpoint: string;
  /** Server-sent event names received (capped), and the last viewer count, when the server offers them. */
  readonly events: string[];
  readonly viewers: number | undefined;
}

declare global {
  interface Window {
    whepPlayer: PlayerHandle;
  }
}

const STATS_INTERVAL_MS = 500;
// No new RTP for this long while playing means the stream (or the path) is gone.
const STALL_MS = 2000;
// A session that has not shown a frame by then is torn down and retried.
const FIRST_FRAME_TIMEOUT_MS = 10000;
const DISCONNECTED_GRACE_MS = 4000;
const BACKOFF_S = [1, 2, 4, 8, 15, 30];

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`player page lacks #${id}`);
  return e as T;
}

const params = new URLSearchParams(location.search);
function flag(name: string, dflt: boolean): boolean {
  const v = params.get(name);
  if (v === null) return dflt;
  return !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}

const video = el<HTMLVideoElement>('v');
const statusEl = el<HTMLDivElement>('status');
const viewersEl = el<HTMLDivElement>('viewers');
const statsEl = el<HTMLPreElement>('stats');
const unmuteBtn = el<HTMLButtonElement>('unmute');
const playBtn = el<HTMLButtonElement>('play');

const controls = flag('controls', true);
const opts = {
  controls,
  muted: flag('muted', true),
  autoplay: flag('autoplay', true),
  stats: flag('stats', controls),
  trickle: flag('trickle', true),
};
const endpoint = new URL(params.get('src') ?? document.body.dataset.endpoint ?? '', location.href).href;

let state: PlayerState = 'idle';
let session: WhepSession | undefined;
let generation = 0;
let failures = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let countdownTimer: ReturnType<typeof setInterval> | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
let postSentAt: number | undefined;
let ttffMs: number | undefined;
let lastStats: PlaybackStats | undefined;
let lastProgressAt = 0;
let disconnectedSince: number | undefined;
const history: string[] = [];
let events: EventSubscription | undefined;
const eventLog: string[] = [];
let viewers: number | undefined;
// Set by an `inactive` event: the server says the stream stopped, so retries say "offline".
let offline = false;

function setState(s: PlayerState): void {
  state = s;
  document.body.dataset.state = s;
}

function say(text: string): void {
  statusEl.textContent = text;
  statusEl.hidden = text === '';
  if (text && history[history.length - 1] !== text) {
    history.push(text);
    if (history.length > 200) history.shift();
  }
}

function syncUnmute(): void {
  unmuteBtn.hidden = !video.muted;
}

function playVideo(): void {
  video.play().catch((err: unknown) => {
    // Autoplay with sound is refused without a user gesture: fall back to muted (the button stays).
    if (err instanceof DOMException && err.name === 'NotAllowedError' && !video.muted) {
      video.muted = true;
      syncUnmute();
      video.play().catch(() => {});
    }
  });
}

function teardown(): void {
  generation++;
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  clearInterval(statsTimer);
  session?.close();
  session = undefined;
  events?.close();
  events = undefined;
  disconnectedSince = undefined;
}

function heard(name: string): void {
  eventLog.push(name);
  if (eventLog.length > 200) eventLog.shift();
}

/** Subscribes to the session's server-sent events, if the 201 offered them. */
async function listen(s: WhepSession, gen: number): Promise<void> {
  const found = findEventsLink(s.link, endpoint);
  if (!found) return;
  let sub: EventSubscription | undefined;
  try {
    sub = await subscribe(found.url, found.events, {
      active: () => {
        heard('active');
        offline = false;
        if (gen === generation && state === 'playing') say('');
      },
      inactive: () => {
        heard('inactive');
        offline = true;
        if (gen === generation) say(OFFLINE_TEXT);
      },
      viewercount: (n) => {
        heard('viewercount');
        viewers = n;
        viewersEl.textContent = `${n} watching`;
        viewersEl.hidden = false;
      },
      reconnect: () => {
        heard('reconnect');
        // A planned end (shutdown, reload, rebalancing): POST again at once, no backoff.
        if (gen !== generation) return;
        failures = 0;
        say('reconnecting…');
        void connect();
      },
    });
  } catch {
    // no events: the player works as without the extension
  }
  if (gen !== generation) sub?.close();
  else events = sub;
}

function scheduleRetry(reason: string, retryAfterS?: number): void {
  teardown();
  const backoff = BACKOFF_S[Math.min(failures, BACKOFF_S.length - 1)] ?? 30;
  failures++;
  // Retry-After (RFC 9110 section 10.2.3) wins over our own backoff when the server sends it.
  let left = Math.max(0, Math.round(retryAfterS ?? backoff));
  setState('retrying');
  const show = () => say(left > 0 ? `${reason}, retrying in ${left} s` : `${reason}, reconnecting…`);
  show();
  countdownTimer = setInterval(() => {
    left = Math.max(0, left - 1);
    if (left > 0) show();
  }, 1000);
  retryTimer = setTimeout(() => void connect(), left * 1000);
}

async function connect(): Promise<void> {
  teardown();
  const gen = generation;
  setState('connecting');
  say('connecting…');
  ttffMs = undefined;
  postSentAt = undefined;
  // srcObject is set on the first track, not before: an empty stream would hold the document's
  // load event (HTML media elements delay it until they have data) for as long as we retry.
  const media = new MediaStream();
  let s: WhepSession;
  try {
    s = await WhepSession.start({
      endpoint,
      trickle: opts.trickle,
      onTrack: (ev) => {
        media.addTrack(ev.track);
        if (video.srcObject !== media) video.srcObject = media;
        playVideo();
      },
      onPostSent: (at) => {
        postSentAt = at;
      },
    });
  } catch (err) {
    if (gen !== generation) return;
    scheduleRetry(describe(err), err instanceof WhepHttpError ? err.retryAfterS : undefined);
    return;
  }
  if (gen !== generation) {
    s.close();
    return;
  }
  session = s;
  setState('waiting-video');
  say(offline ? OFFLINE_TEXT : 'waiting for video…');
  void listen(s, gen);
  watchFirstFrame(gen);
  // whepd closes the peer when the stream ends (DTLS close_notify, RFC 5246 section 7.2.1): the DTLS
  // transport says so at once, long before ICE consent (RFC 7675) would expire.
  const dtls = s.pc.getReceivers()[0]?.transport;
  dtls?.addEventListener('statechange', () => {
    if (gen === generation && (dtls.state === 'closed' || dtls.state === 'failed')) scheduleRetry(offline ? OFFLINE_TEXT : 'the stream stopped', 0);
  });
  s.pc.addEventListener('connectionstatechange', () => {
    if (gen !== generation) return;
    const cs = s.pc.connectionState;
    if (cs === 'failed' || cs === 'closed') scheduleRetry('connection lost');
    else if (cs === 'disconnected') disconnectedSince ??= performance.now();
    else disconnectedSince = undefined;
  });
  const started = performance.now();
  lastStats = undefined;
  lastProgressAt = started;
  statsTimer = setInterval(() => void tick(gen, started), STATS_INTERVAL_MS);
}

function watchFirstFrame(gen: number): void {
  const first = () => {
    if (gen !== generation) return;
    if (postSentAt !== undefined) ttffMs = performance.now() - postSentAt;
    failures = 0;
    offline = false;
    setState('playing');
    say('');
  };
  const rvfc = (video as Partial<HTMLVideoElement>).requestVideoFrameCallback;
  if (typeof rvfc === 'function') rvfc.call(video, () => first());
  else video.addEventListener('loadeddata', first, { once: true });
}

async function tick(gen: number, started: number): Promise<void> {
  const s = session;
  if (!s || gen !== generation) return;
  let st: PlaybackStats;
  try {
    st = await readStats(s.pc, lastStats);
  } catch {
    return;
  }
  if (gen !== generation) return;
  const now = performance.now();
  // Either kind standing still counts: a stream whose video stopped while audio goes on is broken.
  if (!lastStats || (st.videoPackets > lastStats.videoPackets && st.audioPackets > lastStats.audioPackets)) lastProgressAt = now;
  lastStats = st;
  if (opts.stats) statsEl.textContent = formatStats(st, ttffMs);
  if (state === 'playing' && now - lastProgressAt > STALL_MS) return scheduleRetry('the stream stopped');
  if (state === 'waiting-video' && now - started > FIRST_FRAME_TIMEOUT_MS) return scheduleRetry('no video arrived');
  if (disconnectedSince !== undefined && now - disconnectedSince > DISCONNECTED_GRACE_MS) return scheduleRetry('connection lost');
}

function init(): void {
  video.muted = opts.muted;
  video.autoplay = true;
  video.playsInline = true;
  video.controls = opts.controls;
  statsEl.hidden = !opts.stats;
  syncUnmute();
  video.addEventListener('volumechange', syncUnmute);
  unmuteBtn.addEventListener('click', () => {
    video.muted = false;
    syncUnmute();
    playVideo();
  });
  // DELETE on the way out (RFC 9725 section 4.4); keepalive lets it outlive the page.
  window.addEventListener('pagehide', () => {
    teardown();
    setState('idle');
  });
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted) void connect();
  });
  window.whepPlayer = {
    get state() {
      return state;
    },
    get pc() {
      return session?.pc;
    },
    video,
    history,
    get ttffMs() {
      return ttffMs;
    },
    get stats() {
      return lastStats;
    },
    endpoint,
    events: eventLog,
    get viewers() {
      return viewers;
    },
  };
  if (opts.autoplay) {
    void connect();
  } else {
    playBtn.hidden = false;
    say('');
    playBtn.addEventListener(
      'click',
      () => {
        playBtn.hidden = true;
        void connect();
      },
      { once: true },
    );
  }
}

init();
