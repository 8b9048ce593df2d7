/** The built-in pages: a stream list at `/` and a minimal WHEP player at `/play/:stream`. */
import { Hono } from 'hono';
import { html, raw } from 'hono/html';

/** What the pages show about a stream. */
export interface PlayerStreamInfo {
  id: string;
  state: string;
  viewers: number;
  lastError: string | undefined;
}

/** Options for {@link playerRoutes}. */
export interface PlayerRoutesOptions {
  listStreams: () => readonly PlayerStreamInfo[];
}

// The player is plain browser JavaScript: WHEP POST with a complete offer, DELETE on unload,
// retry honouring Retry-After. Kept dependency-free so the page works offline and cross-origin.
const playerScript = `
const video = document.getElementById('v');
const status = document.getElementById('status');
const endpoint = new URL(document.body.dataset.endpoint, location.href).href;
let pc, resource, retryTimer;
function say(text) { status.textContent = text; }
async function start() {
  clearTimeout(retryTimer);
  pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const ms = new MediaStream();
  video.srcObject = ms;
  pc.ontrack = (e) => ms.addTrack(e.track);
  pc.onconnectionstatechange = () => {
    say('connection: ' + pc.connectionState);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') retry(2);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); else { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); } });
  say('connecting…');
  const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) {
    const text = (await res.text()).trim();
    const wait = Number(res.headers.get('Retry-After')) || 3;
    say(text + ' (HTTP ' + res.status + '), retrying in ' + wait + ' s');
    pc.close();
    return retry(wait);
  }
  resource = new URL(res.headers.get('Location'), endpoint).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
}
function retry(seconds) {
  if (resource) fetch(resource, { method: 'DELETE', keepalive: true }).catch(() => {});
  resource = undefined;
  if (pc) pc.close();
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => start().catch((e) => { say(String(e)); retry(3); }), seconds * 1000);
}
window.addEventListener('pagehide', () => { if (resource) fetch(resource, { method: 'DELETE', keepalive: true }); });
document.getElementById('unmute').onclick = () => { video.muted = false; video.play(); };
start().catch((e) => { say(String(e)); retry(3); });
`;

/** Routes for `/` and `/play/:stream`. */
export function playerRoutes(o: PlayerRoutesOptions): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const rows = o.listStreams().map(
      (s) => html`<tr><td><a href="/play/${encodeURIComponent(s.id)}">${s.id}</a></td><td>${s.state}</td><td>${s.viewers}</td><td>${s.lastError ?? ''}</td></tr>`,
    );
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>whepd</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}</style></head>
<body><h1>whepd streams</h1>
<table><tr><th>stream</th><th>state</th><th>viewers</th><th>last error</th></tr>${rows}</table>
<p>WHEP endpoint: <code>POST /whep/&lt;stream&gt;</code> with <code>Content-Type: application/sdp</code>.</p>
</body></html>`);
  });
  app.get('/play/:stream', (c) => {
    const id = c.req.param('stream');
    const endpoint = `/whep/${encodeURIComponent(id)}`;
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>whepd: ${id}</title>
<style>body{margin:0;background:#000;color:#eee;font-family:system-ui,sans-serif}video{width:100vw;height:90vh;background:#000}
#bar{padding:.5em}button{margin-right:1em}</style></head>
<body data-endpoint="${endpoint}">
<video id="v" autoplay muted playsinline></video>
<div id="bar"><button id="unmute">unmute</button><span id="status">starting…</span></div>
<script type="module">${raw(playerScript)}</script>
</body></html>`);
  });
  return app;
}
