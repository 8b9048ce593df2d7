/** Player: the built-in stream list and WHEP player pages. */
export { playerRoutes } from './pages.js';
export type { PlayerRoutesOptions, PlayerStreamInfo } from './pages.js';
