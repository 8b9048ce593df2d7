/**
 * systemd readiness (sd_notify) through the systemd-notify tool: Node cannot write to the
 * NOTIFY_SOCKET datagram socket itself. The unit sets NotifyAccess=all and the message names
 * whepd's PID, so systemd attributes it to the service even though a child sends it.
 */
import { execa } from 'execa';

/** Sends one sd_notify state (e.g. `READY=1`); a no-op outside systemd. Never throws. */
export async function notifySystemd(state: 'READY=1' | 'STOPPING=1' | 'RELOADING=1', status?: string): Promise<void> {
  if (!process.env['NOTIFY_SOCKET']) return;
  const args = [`--pid=${process.pid}`];
  if (state === 'READY=1') args.push('--ready');
  else args.push(state);
  if (status) args.push(`--status=${status}`);
  await execa('systemd-notify', args, { reject: false, timeout: 2000, stdin: 'ignore' });
}
