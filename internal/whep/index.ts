/** WHEP: HTTP routes, sessions and their registry with admission caps. */
export { whepRoutes } from './routes.js';
export type { WhepRoutesOptions } from './routes.js';
export { Session, newResourceId } from './session.js';
export type { SessionTimers, SessionInit } from './session.js';
export { SessionRegistry } from './registry.js';
export type { Caps, Slot } from './registry.js';
export { corsMiddleware } from './cors.js';
export { errorResponse, httpErrorHandler } from './http-errors.js';
export { parseSdpFragment } from './sdpfrag.js';
export type { SdpFragment } from './sdpfrag.js';
export { checkPatchPrecondition, isIceRestart } from './patch-precondition.js';
export type { IceCredentials, PatchPrecondition } from './patch-precondition.js';
export type { StreamSource, StreamDirectory, SessionPeer, PeerFactory, WhepObserver, StartedSession } from './types.js';
export { SessionEvents, MAX_EVENT_STREAMS_PER_SESSION, SSE_HEARTBEAT_MS } from './session-events.js';
export type { SessionEventsOptions } from './session-events.js';
export { EventStream, OFFERED_EVENTS, sseEvent } from './event-stream.js';
export type { WhepEventName, EventSink } from './event-stream.js';
export { SSE_REL, eventsLink, parseSubscription } from './event-routes.js';
