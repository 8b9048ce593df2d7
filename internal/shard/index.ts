/** Shards: viewer PeerConnections spread over child processes so fan-out uses every core. */
export { ShardPool } from './pool.js';
export type { ShardPoolOptions } from './pool.js';
export { ShardPeer } from './shard-peer.js';
