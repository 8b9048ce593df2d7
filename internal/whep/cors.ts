/** CORS on every response, errors included (WHEP players are often served from another origin). */
import type { MiddlewareHandler } from 'hono';

/** Headers every WHEP answer carries for cross-origin players. */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler {
  const any = origins.includes('*');
  return async (c, next) => {
    await next();
    const origin = c.req.header('origin');
    let allow: string | undefined;
    if (any) allow = '*';
    else if (origin && origins.includes(origin)) allow = origin;
    if (allow) c.res.headers.set('Access-Control-Allow-Origin', allow);
    if (!any) c.res.headers.append('Vary', 'Origin');
    c.res.headers.set('Access-Control-Allow-Methods', 'OPTIONS, GET, HEAD, POST, PATCH, DELETE');
    c.res.headers.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    c.res.headers.set('Access-Control-Expose-Headers', 'Location, ETag, Link, Retry-After, Accept-Post, Allow');
  };
}
