/** Service integration: systemd notifications. */
export { notifySystemd } from './systemd.js';
