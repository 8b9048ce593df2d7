/** Player: the built-in stream list and WHEP player pages. */
export { playerRoutes, stateLabel } from './pages.js';
export type { PlayerRoutesOptions, PlayerStreamInfo } from './pages.js';
export { loadClientAssets, CLIENT_BUILD_COMMAND } from './client-assets.js';
export type { ClientAssets } from './client-assets.js';
