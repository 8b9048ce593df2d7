#!/usr/bin/python3
"""GStreamer webrtcbin WHEP client: subscribes to one whepd stream, decodes H264 and Opus, counts.

  /usr/bin/python3 e2e/gst/whep-client.py <endpoint url> [options]

  --order audio-first|video-first   transceiver order, so the order of the offer's m-lines (default video-first)
  --trickle                         POST the offer at once (no candidates) and PATCH each candidate with
                                    If-Match: <ETag> (WHEP draft section 4.3); default: wait for ICE
                                    gathering to complete and POST the full offer
  --window-s N                      measure fps and audio samples/s over N s after the first frame (default 3)
  --timeout-s N                     give up N s after the POST (default 20)
  --save-offer FILE                 write the offer as POSTed (CRLF) to FILE
  --turn-from-link udp|tcp          before the offer, send a plain OPTIONS and give webrtcbin the turn: server
                                    of that transport from its `Link: <...>; rel="ice-server"` headers (RFC 9725
                                    section 4.6), with the username and credential minted for it
  --relay                           ice-transport-policy relay: gather and use relay candidates only
  --min-fps N, --min-audio-rate N   pass thresholds (default 20 fps, 40000 samples/s)

The webrtcbin has bundle-policy max-bundle, so its offer's second m-line has port 0 and
a=bundle-only (RFC 9143 section 7.2). Decoded video frames (avdec_h264) and audio samples
(opusdec) are counted by fakesink handoffs. At the first frame the selected candidate pair is
read from webrtcbin's stats (each side's type, address, and a relay's protocol to its TURN
server). Prints one JSON line and exits 0 when media arrived at the thresholds, 1 otherwise (2 on
bad usage). libnice ignores loopback interfaces: run it where a non-loopback interface has an
address whepd can reach (e2e/gst/run.sh makes a network namespace).
Needs Debian's python3-gst-1.0, gir1.2-gst-plugins-bad-1.0, gstreamer1.0-nice,
gstreamer1.0-plugins-{good,bad}, gstreamer1.0-libav (scripts/ensure-gstreamer.sh).
"""
import argparse
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

HTTP_TIMEOUT_S = 10
GATHER_TIMEOUT_S = 10


class Client:
    """One WHEP session: offer, POST, answer, trickle PATCHes, decode and count, DELETE."""

    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.lock = threading.Lock()
        self.result = {'order': args.order, 'trickle': args.trickle, 'ok': False}
        self.resource = None
        self.etag = None
        self.ufrag = None
        self.pwd = None
        self.pending = []  # trickle candidates gathered before the POST answered
        self.posted_at = None
        self.offer_sent = False
        self.video_times = []
        self.audio = []  # (monotonic time, samples per channel)
        self.patches = []
        self.mids = []
        self.pipe = Gst.Pipeline.new('whep')
        self.webrtc = Gst.ElementFactory.make('webrtcbin', 'webrtc')
        self.webrtc.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        if args.relay:
            self.webrtc.set_property('ice-transport-policy', GstWebRTC.WebRTCICETransportPolicy.RELAY)
        self.pipe.add(self.webrtc)
        self.webrtc.connect('on-negotiation-needed', self.on_negotiation_needed)
        self.webrtc.connect('on-ice-candidate', self.on_ice_candidate)
        self.webrtc.connect('notify::ice-gathering-state', self.on_gathering_state)
        self.webrtc.connect('pad-added', self.on_pad_added)
        self.webrtc.connect('notify::ice-connection-state', self.on_state, 'ice_states', 'ice-connection-state')
        self.webrtc.connect('notify::connection-state', self.on_state, 'pc_states', 'connection-state')
        video = Gst.Caps.from_string('application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,'
                                     'packetization-mode=(string)1,profile-level-id=(string)42e01f')
        audio = Gst.Caps.from_string('application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000')
        kinds = [audio, video] if args.order == 'audio-first' else [video, audio]
        for caps in kinds:
            self.webrtc.emit('add-transceiver', GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)

    # -- offer / answer ---------------------------------------------------------------------------

    def on_negotiation_needed(self, _element):
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.webrtc.emit('create-offer', None, promise)

    def on_offer_created(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value('offer') if reply is not None and reply.has_field('offer') else None
        if offer is None:
            GLib.idle_add(self.finish, 'create-offer failed: ' + (reply.to_string() if reply is not None else 'no reply'))
            return
        self.webrtc.emit('set-local-description', offer, Gst.Promise.new())
        if self.args.trickle:
            GLib.idle_add(self.post, offer.sdp.as_text())

    def on_state(self, _element, _pspec, key, prop):
        name = self.webrtc.get_property(prop).value_nick
        with self.lock:
            self.result.setdefault(key, []).append(name)

    def on_gathering_state(self, _element, _pspec):
        state = self.webrtc.get_property('ice-gathering-state')
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            if self.args.trickle:
                GLib.idle_add(self.queue_candidate, None, None)
            else:
                GLib.idle_add(self.post_gathered)

    def post_gathered(self):
        # webrtcbin writes the gathered candidates into its local description.
        desc = self.webrtc.get_property('local-description')
        text = desc.sdp.as_text()
        self.post(text)
        return False

    def post(self, sdp):
        if self.offer_sent:
            return False
        self.offer_sent = True
        sdp = sdp.replace('\r\n', '\n').replace('\n', '\r\n')
        if self.args.save_offer:
            with open(self.args.save_offer, 'w', newline='') as f:
                f.write(sdp)
        for line in sdp.split('\r\n'):
            if line.startswith('a=mid:'):
                self.mids.append(line[len('a=mid:'):])
            if line.startswith('a=ice-ufrag:') and self.ufrag is None:
                self.ufrag = line[len('a=ice-ufrag:'):]
            if line.startswith('a=ice-pwd:') and self.pwd is None:
                self.pwd = line[len('a=ice-pwd:'):]
        self.result['offer_candidates'] = sdp.count('a=candidate:')
        self.posted_at = time.monotonic()
        req = urllib.request.Request(self.args.url, data=sdp.encode(), method='POST',
                                     headers={'Content-Type': 'application/sdp'})
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as res:
                status, answer = res.status, res.read().decode()
                self.resource = urllib.parse.urljoin(self.args.url, res.headers.get('Location') or '')
                self.etag = res.headers.get('ETag')
        except urllib.error.HTTPError as err:
            return self.finish(f'POST answered {err.code}: {err.read().decode(errors="replace")[:200]}')
        except OSError as err:
            return self.finish(f'POST failed: {err}')
        self.result['post_status'] = status
        self.result['post_ms'] = round((time.monotonic() - self.posted_at) * 1000)
        if status != 201:
            return self.finish(f'POST answered {status}, expected 201')
        ok, msg = GstSdp.SDPMessage.new_from_text(answer)
        if ok != GstSdp.SDPResult.OK:
            return self.finish('answer does not parse as SDP')
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit('set-remote-description', desc, Gst.Promise.new())
        pending, self.pending = self.pending, []
        for mline, cand in pending:
            self.queue_candidate(mline, cand)
        return False

    # -- trickle ICE (WHEP draft section 4.3, RFC 8840 fragments) ---------------------------------

    def on_ice_candidate(self, _element, mline, candidate):
        if self.args.trickle:
            GLib.idle_add(self.queue_candidate, mline, candidate)

    def queue_candidate(self, mline, candidate):
        """PATCHes one candidate (or a=end-of-candidates when candidate is None) once the POST answered."""
        if self.resource is None:
            self.pending.append((mline, candidate))
            return False
        mid = self.mid_of(mline)
        lines = [f'a=ice-ufrag:{self.ufrag}', f'a=ice-pwd:{self.pwd}']
        if candidate is None:
            lines.append('a=end-of-candidates')
        else:
            lines += [f'a=mid:{mid}', candidate if candidate.startswith('a=') else f'a={candidate}']
        body = ('\r\n'.join(lines) + '\r\n').encode()
        headers = {'Content-Type': 'application/trickle-ice-sdpfrag'}
        if self.etag:
            headers['If-Match'] = self.etag
        req = urllib.request.Request(self.resource, data=body, method='PATCH', headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as res:
                self.patches.append(res.status)
        except urllib.error.HTTPError as err:
            self.patches.append(err.code)
        except OSError:
            self.patches.append('error')
        return False

    def mid_of(self, mline):
        """The mid of the offer's m-line number `mline` (from the POSTed text: no webrtcbin structs here)."""
        if mline is not None and 0 <= mline < len(self.mids):
            return self.mids[mline]
        return self.mids[0] if self.mids else '0'

    # -- decode and count --------------------------------------------------------------------------

    def on_pad_added(self, _element, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string('media')
        if media == 'video':
            chain = 'rtph264depay ! h264parse ! avdec_h264 ! fakesink name=vsink signal-handoffs=true sync=false'
        elif media == 'audio':
            chain = 'rtpopusdepay ! opusdec ! audio/x-raw,format=S16LE ! fakesink name=asink signal-handoffs=true sync=false'
        else:
            return
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.pipe.add(bin_)
        sink = bin_.get_by_name('vsink' if media == 'video' else 'asink')
        sink.connect('handoff', self.on_video if media == 'video' else self.on_audio)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad('sink'))

    def on_video(self, _sink, _buffer, _pad):
        with self.lock:
            self.video_times.append(time.monotonic())
            first = len(self.video_times) == 1
        if first:
            GLib.idle_add(self.read_selected_pair)

    # -- ICE servers from Link headers, selected pair from stats -----------------------------------

    def turn_from_link(self, transport):
        """The turn:// URI for webrtcbin from a plain OPTIONS's Link headers, or an error string."""
        req = urllib.request.Request(self.args.url, method='OPTIONS')
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as res:
                links = res.headers.get_all('Link') or []
        except (urllib.error.HTTPError, OSError) as err:
            return None, f'OPTIONS failed: {err}'
        for link in (part for header in links for part in re.split(r',\s*(?=<)', header)):
            m = re.match(r'\s*<([^>]*)>(.*)$', link)
            if not m:
                continue
            params = {k.lower(): (re.sub(r'\\(.)', r'\1', q) if q else t)
                      for k, q, t in re.findall(r';\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', m.group(2))}
            url = re.match(r'^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$', m.group(1), re.I)
            if params.get('rel') != 'ice-server' or not url or 'username' not in params:
                continue
            scheme, host, port, tr = url.group(1).lower(), url.group(2), url.group(3), (url.group(4) or '').lower()
            tr = tr or ('tcp' if scheme == 'turns' else 'udp')
            if tr != transport:
                continue
            # webrtcbin takes turn(s)://user:password@host:port; the TURN REST username has a ':'
            # and the base64 credential '+', '/' and '=', so both are percent-encoded.
            user = urllib.parse.quote(params['username'], safe='')
            cred = urllib.parse.quote(params.get('credential', ''), safe='')
            port = port or ('5349' if scheme == 'turns' else '3478')
            self.result['turn'] = {'url': m.group(1), 'username': params['username']}
            return f'{scheme}://{user}:{cred}@{host}:{port}?transport={tr}', None
        return None, f'no rel="ice-server" turn link with transport {transport} and credentials in {links}'

    def read_selected_pair(self):
        promise = Gst.Promise.new_with_change_func(self.on_stats, None)
        self.webrtc.emit('get-stats', None, promise)
        return False

    def on_stats(self, promise, _data):
        promise.wait()
        reply = promise.get_reply()
        if reply is None:
            return
        stats = {}

        def keep(_field, value):
            if isinstance(value, Gst.Structure):
                stats[value.get_string('id')] = value
            return True
        reply.foreach(keep)
        # Followed by id: GStreamer 1.22 names the local candidate's structure remote-candidate
        # and the remote's local-candidate, while the ids and the pair's references are right.
        pair = None
        for s in stats.values():
            if s.get_name() == 'transport' and s.get_string('selected-candidate-pair-id'):
                pair = stats.get(s.get_string('selected-candidate-pair-id'))
        cand = {}
        for side in ('local', 'remote'):
            c = stats.get(pair.get_string(f'{side}-candidate-id')) if pair is not None else None
            if c is not None:
                cand[side] = {k: c.get_value(k) for k in ('candidate-type', 'protocol', 'address', 'port', 'relay-protocol')
                              if c.has_field(k)}
        with self.lock:
            self.result['selected_pair'] = cand or None
            if not cand:
                self.result['stats_names'] = sorted({s.get_name() for s in stats.values()})

    def on_audio(self, _sink, buffer, pad):
        caps = pad.get_current_caps()
        channels = caps.get_structure(0).get_value('channels') if caps else 2
        with self.lock:
            self.audio.append((time.monotonic(), buffer.get_size() // (2 * (channels or 2))))

    def tick(self):
        """Ends the run once the measuring window after the first frame is over, or on the deadline."""
        now = time.monotonic()
        with self.lock:
            first = self.video_times[0] if self.video_times else None
        if first is not None and now - first >= self.args.window_s + 1:
            self.finish(None)
            return False
        started = self.posted_at if self.posted_at is not None else self.started
        if now - started > self.args.timeout_s:
            self.finish(f'no decoded video frame within {self.args.timeout_s} s of the POST'
                        if first is None else 'measuring window did not end in time')
            return False
        return True

    def finish(self, error):
        with self.lock:
            video = list(self.video_times)
            audio = list(self.audio)
        r = self.result
        r['patch_statuses'] = self.patches
        r['video_frames'] = len(video)
        r['audio_buffers'] = len(audio)
        if video and self.posted_at is not None:
            first = video[0]
            r['ttff_ms'] = round((first - self.posted_at) * 1000)
            # From the client's start: OPTIONS, TURN allocation and gathering included.
            r['ttff_from_start_ms'] = round((first - self.started) * 1000)
            # The window starts 1 s after the first frame: the first second includes the jitter
            # buffer filling and the keyframe burst, not the steady rate.
            lo, hi = first + 1, first + 1 + self.args.window_s
            r['fps'] = round(sum(1 for t in video if lo <= t < hi) / self.args.window_s, 1)
            r['audio_samples_per_s'] = round(sum(n for t, n in audio if lo <= t < hi) / self.args.window_s)
        if error is None:
            problems = []
            if r.get('fps', 0) < self.args.min_fps:
                problems.append(f'fps {r.get("fps", 0)} < {self.args.min_fps}')
            if r.get('audio_samples_per_s', 0) < self.args.min_audio_rate:
                problems.append(f'audio {r.get("audio_samples_per_s", 0)} samples/s < {self.args.min_audio_rate}')
            if self.args.trickle and (not self.patches or any(s != 204 for s in self.patches)):
                problems.append(f'trickle PATCH statuses {self.patches}, expected all 204')
            error = '; '.join(problems) or None
        r['ok'] = error is None
        if error:
            r['error'] = error
        self.loop.quit()
        return False

    def run(self):
        self.started = time.monotonic()
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect('message::error', lambda _b, m: self.finish(f'pipeline error: {m.parse_error()[0].message}'))
        if self.args.turn_from_link:
            uri, error = self.turn_from_link(self.args.turn_from_link)
            if error:
                self.result['error'] = error
                print(json.dumps(self.result), flush=True)
                return 1
            self.webrtc.set_property('turn-server', uri)
        self.pipe.set_state(Gst.State.PLAYING)
        if not self.args.trickle:
            GLib.timeout_add_seconds(GATHER_TIMEOUT_S, lambda: self.offer_sent or self.finish(
                f'ICE gathering did not complete within {GATHER_TIMEOUT_S} s'))
        GLib.timeout_add(100, self.tick)
        self.loop.run()
        if self.resource:
            try:
                req = urllib.request.Request(self.resource, method='DELETE')
                with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as res:
                    self.result['delete_status'] = res.status
            except urllib.error.HTTPError as err:
                self.result['delete_status'] = err.code
            except OSError as err:
                self.result['delete_status'] = str(err)
        self.pipe.set_state(Gst.State.NULL)
        print(json.dumps(self.result), flush=True)
        return 0 if self.result['ok'] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('url')
    p.add_argument('--order', choices=['audio-first', 'video-first'], default='video-first')
    p.add_argument('--trickle', action='store_true')
    p.add_argument('--window-s', type=float, default=3)
    p.add_argument('--timeout-s', type=float, default=20)
    p.add_argument('--save-offer')
    p.add_argument('--min-fps', type=float, default=20)
    p.add_argument('--min-audio-rate', type=float, default=40000)
    p.add_argument('--turn-from-link', choices=['udp', 'tcp'])
    p.add_argument('--relay', action='store_true')
    args = p.parse_args()
    Gst.init(None)
    sys.exit(Client(args).run())


if __name__ == '__main__':
    main()
