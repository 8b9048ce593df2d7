/**
 * A loopback STUN Binding responder for e2e/run.sh, so a whepd configured with a `stun:` ICE
 * server completes gathering and its 201 carries a `Link: <stun:...>; rel="ice-server"` header.
 *
 *   node --import=tsx e2e/stun-responder.ts    prints `stun:127.0.0.1:<port>`, runs until SIGTERM
 *
 * Exits by itself after 120 s so a lost helper cannot outlive the e2e run.
 */
import { StunServer } from '../internal/testkit/stun-server.js';

const MAX_LIFETIME_MS = 120000;

const server = await StunServer.start();
process.stdout.write(`${server.url}\n`);
const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, MAX_LIFETIME_MS);
