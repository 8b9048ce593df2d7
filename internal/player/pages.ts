/** The built-in pages: a stream list at `/` and the WHEP player at `/play/:stream`. */
import { Hono } from 'hono';
import { html } from 'hono/html';
import { loadClientAssets } from './client-assets.js';
import type { ClientAssets } from './client-assets.js';

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
  /** Where the compiled browser code is; tests pass a loader. Default: dist/player/. */
  loadAssets?: () => ClientAssets;
}

/** A stream state in words for the list: live, not live or failed. */
export function stateLabel(state: string): string {
  switch (state) {
    case 'live':
      return 'live';
    case 'failed':
      return 'failed';
    case 'idle':
      return 'not live (starts on demand)';
    case 'closed':
      return 'stopped';
    default:
      return 'not live';
  }
}

const listStyle = `body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:.35em 1em;text-align:left;border-bottom:1px solid #ddd}
.live{color:#087f23;font-weight:600}.failed{color:#b00020;font-weight:600}.err{color:#666;font-size:.9em}`;

// The player fills the viewport so it can sit in an iframe; text overlays the video.
const playerStyle = `html,body{margin:0;height:100%;background:#000;color:#eee;font:14px system-ui,sans-serif;overflow:hidden}
video{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;background:#000}
#status{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);max-width:80%;padding:.6em 1em;
 background:rgba(0,0,0,.7);border-radius:6px;font-size:1.2em;text-align:center}
#stats{position:absolute;left:.5em;top:.5em;margin:0;padding:.4em .6em;background:rgba(0,0,0,.55);
 font:12px ui-monospace,monospace;border-radius:4px;pointer-events:none}
button{position:absolute;font:inherit;color:#fff;background:rgba(0,0,0,.7);border:1px solid #aaa;border-radius:6px;cursor:pointer}
#unmute{right:.6em;bottom:3.5em;padding:.5em .9em}
#viewers{position:absolute;right:.6em;top:.5em;padding:.2em .6em;background:rgba(0,0,0,.55);border-radius:4px;font-size:.9em}
#play{left:50%;top:50%;transform:translate(-50%,-50%);padding:.8em 1.6em;font-size:1.4em}
[hidden]{display:none!important}`;

/** Routes for `/`, `/play/:stream` and the player's scripts under `/player/`. */
export function playerRoutes(o: PlayerRoutesOptions): Hono {
  const load = o.loadAssets ?? (() => loadClientAssets());
  let assets = load();
  // A build made after start is picked up on the next request.
  const current = (): ClientAssets => (assets.ok ? assets : (assets = load()));

  const app = new Hono();
  app.get('/', (c) => {
    const a = current();
    const rows = o.listStreams().map((s) => {
      const label = stateLabel(s.state);
      return html`<tr><td><a href="play/${encodeURIComponent(s.id)}">${s.id}</a></td><td class="${s.state}">${label}</td><td>${s.viewers}</td><td class="err">${s.lastError ?? ''}</td></tr>`;
    });
    return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>whepd</title><link rel="icon" href="data:,"><style>${listStyle}</style></head>
<body><h1>whepd streams</h1>
${a.ok ? '' : html`<p class="failed">${a.error}</p>`}
<table><tr><th>stream</th><th>state</th><th>viewers</th><th>last error</th></tr>${rows}</table>
<p>WHEP endpoint: <code>POST /whep/&lt;stream&gt;</code> with <code>Content-Type: application/sdp</code>.
Player parameters: <code>?controls=0&amp;muted=1&amp;autoplay=1&amp;stats=0&amp;src=&lt;WHEP URL&gt;</code>.</p>
</body></html>`);
  });

  app.get('/play/:stream', (c) => {
    const a = current();
    if (!a.ok) return c.text(`whepd: ${a.error}\n`, 503);
    const id = c.req.param('stream');
    // Relative to /play/<stream>, so the page also works behind a reverse proxy under a prefix.
    const endpoint = `../whep/${encodeURIComponent(id)}`;
    return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>whepd: ${id}</title><link rel="icon" href="data:,"><style>${playerStyle}</style></head>
<body data-stream="${id}" data-endpoint="${endpoint}" data-state="idle">
<video id="v" muted autoplay playsinline></video>
<pre id="stats" hidden></pre>
<div id="status">loading…</div>
<div id="viewers" hidden></div>
<button id="unmute" hidden>🔇 unmute</button>
<button id="play" hidden>▶ play</button>
<script type="module" src="../player/player.mjs"></script>
</body></html>`);
  });

  app.get('/player/:file', (c) => {
    const a = current();
    if (!a.ok) return c.text(`whepd: ${a.error}\n`, 503);
    const body = a.files.get(c.req.param('file'));
    if (body === undefined) return c.text('not found\n', 404);
    return c.body(body, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
  });
  return app;
}
