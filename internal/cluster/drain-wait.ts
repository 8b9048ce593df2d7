/** SIGTERM's drain wait: until no session is left, the timeout passes, or something else gives up. */

/**
 * Resolves `true` once `sessions()` is 0, `false` when `timeoutMs` passed first or `stop()` said
 * so (close() started elsewhere). Polls every `everyMs`: sessions end from many places (DELETE,
 * peer failure, RTCP timeout, stream end), and a poll needs no hook in any of them.
 */
export function waitForSessionsToLeave(sessions: () => number, timeoutMs: number, stop: () => boolean = () => false, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): boolean => {
      const empty = sessions() === 0;
      if (!empty && Date.now() < deadline && !stop()) return false;
      resolve(empty);
      return true;
    };
    if (check()) return;
    const tick = setInterval(() => {
      if (check()) clearInterval(tick);
    }, everyMs);
  });
}
