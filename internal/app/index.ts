/** App: the composition root. */
export { App } from './app.js';
