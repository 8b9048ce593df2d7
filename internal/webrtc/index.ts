/** WebRTC: offer analysis and the ICE candidate grammar (pure), ICE server conversion, and the viewer PeerConnection. */
export { planAnswer, pickH264, pickVp8, pickOpus, parseFmtp, h264ProfileRank } from './negotiate.js';
export type { OfferPlan, NegotiatedCodec, NegotiatedVideo, PlanOptions, VideoCodecName } from './negotiate.js';
export { parseCandidate, checkCandidate, checkSdpCandidates } from './candidate.js';
export type { IceCandidate, CandidateType } from './candidate.js';
export { ViewerPeer } from './peer.js';
export { holdBackCandidates } from './hold-candidates.js';
export { advertiseCandidates } from './advertise.js';
export type { PeerNetworkOptions, TrackIdentity, PeerState, PeerMedia, PeerStats, TrackReception, ViewerQuality } from './types.js';
export { ReceptionQuality } from './quality.js';
export { toRtcIceServers, iceServerLinks } from './ice-servers.js';
export { mintTurnCredential, turnIceServer } from './turn-credentials.js';
export type { TurnRestOptions } from './turn-credentials.js';
export type { IceServerInput } from './ice-servers.js';
