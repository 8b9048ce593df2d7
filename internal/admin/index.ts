/** Admin: health, readiness, metrics exposition and the bearer-token admin API. */
export { adminRoutes } from './routes.js';
export type { AdminDrain, AdminRoutesOptions, AdminSession, AdminReception } from './routes.js';
