/** Test kit: real WHEP clients and a real App on loopback, for tests, e2e and benchmarks. */
export { WhepClient } from './whep-client.js';
export type { ReceivedPacket, ReceivedSenderReport, WhepClientOptions, PostResult } from './whep-client.js';
export { startTestApp, waitUntil, waitLive, releaseWebRtc } from './app.js';
export type { TestAppOptions } from './app.js';
export { answerTrack } from './sdp.js';
export { spsSize, spsSizeFromPayload } from './h264-sps.js';
export { StunServer } from './stun-server.js';
export { freePort, freeUdpPort, processRunning } from './process.js';
export { WhepdProcess, WHEPD_READY_WAIT_MS } from './whepd-process.js';
export { ANSWER, FRAG, FakePeer, FakeStream, OWN, RESTART, SDP, cand, noH264, offer, post, rig, withSession } from './whep-rig.js';
export type { Rig } from './whep-rig.js';
export { EventClient } from './event-client.js';
export type { ReceivedEvent } from './event-client.js';
export { LossyRelay } from './lossy-relay.js';
