/** Cluster: HAProxy's agent-check line and listener (load-aware balancing, drain). */
export { agentLine, freePercent } from './agent-line.js';
export type { AgentLoad } from './agent-line.js';
export { AgentServer } from './agent-server.js';
export type { AgentServerOptions } from './agent-server.js';
export { waitForSessionsToLeave } from './drain-wait.js';
