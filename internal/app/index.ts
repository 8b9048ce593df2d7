/** App: the composition root. */
export { App } from './app.js';
export type { ReloadResult } from './app.js';
