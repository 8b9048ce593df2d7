/** Config: the schema, loading and validation, and the frozen types the rest of whepd reads. */
export { configSchema } from './schema.js';
export { loadConfig, parseConfig, parseListen, isFileInput, isSdpInput } from './load.js';
export type { Config, StreamConfig, IceServerConfig, VideoMode, ListenAddress } from './types.js';
