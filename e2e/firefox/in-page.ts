/**
 * Code that runs inside Firefox (page.evaluateOnNewDocument / page.evaluate). Self-contained: only
 * the functions' source text reaches the page.
 */

/** One WHEP request the page made, as the server answered it. */
export interface WhepRequest {
  method: string;
  url: string;
  /** performance.now() when the request left. */
  at: number;
  /** The request body (the SDP offer of a POST, the fragment of a PATCH). */
  body: string;
  /** -1 until the answer (status and body) is in. */
  status: number;
  /** The response body (the SDP answer, or the refusal's sentence). */
  answer: string;
}

/**
 * Wraps window.fetch before the page's scripts run and keeps every POST, PATCH and DELETE to a
 * /whep/ URL in `window.__whep`: what the player really sent and what whepd answered.
 */
export function recordWhep(): void {
  const w = window as unknown as { __whep: WhepRequest[] };
  w.__whep = [];
  const fetch0 = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (!url.includes('/whep/') || !['POST', 'PATCH', 'DELETE'].includes(method)) return fetch0(input, init);
    const entry: WhepRequest = { method, url, at: performance.now(), body: typeof init?.body === 'string' ? init.body : '', status: -1, answer: '' };
    w.__whep.push(entry);
    const res = await fetch0(input, init);
    entry.answer = await res.clone().text();
    entry.status = res.status;
    return res;
  };
}

/** The requests recorded so far. */
export function whepRequests(): WhepRequest[] {
  return [...(window as unknown as { __whep?: WhepRequest[] }).__whep ?? []];
}
