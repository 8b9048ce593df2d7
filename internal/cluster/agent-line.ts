/**
 * The one line whepd answers on HAProxy's agent-check port (HAProxy configuration manual,
 * section 5.2 "agent-check"): words separated by spaces, ended by a newline.
 */

/** What the agent line is computed from. */
export interface AgentLoad {
  /** Viewer slots held (negotiating + connected). */
  readonly used: number;
  /** limits.viewersTotal. */
  readonly total: number;
  /** True while draining (operator drain or a SIGTERM waiting for viewers to leave). */
  readonly draining: boolean;
}

/** Free viewer capacity as a percentage of the total: at least 1 while a slot is free, 0 when full. */
export function freePercent(used: number, total: number): number {
  if (total <= 0) return 0;
  const free = total - used;
  if (free <= 0) return 0;
  // Floor so a nearly full instance never looks emptier than it is; a last free slot still
  // counts (1%), because a weight of 0 takes the server out of the balancing altogether.
  return Math.max(1, Math.floor((free * 100) / total));
}

/**
 * The agent's reply. `up` re-enables the server after a failed health check, `ready` cancels a
 * DRAIN that an earlier `drain` reply set (without it the server stays drained for good), and the
 * percentage scales the server's configured weight. `drain` keeps stick-table (persistent) traffic
 * flowing to this instance, so PATCH and DELETE still reach its sessions, but sends no new POSTs.
 */
export function agentLine(load: AgentLoad): string {
  if (load.draining) return 'drain\n';
  return `up ready ${freePercent(load.used, load.total)}%\n`;
}
