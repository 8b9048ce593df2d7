/**
 * A test client of the WHEP server-sent events extension: finds the events URL in a 201's Link,
 * subscribes, and records every event of the `text/event-stream` it then reads with fetch.
 */

/** One event as received. */
export interface ReceivedEvent {
  event: string;
  data: unknown;
  at: number;
}

/** An open event stream; close() stops reading. */
export class EventClient {
  readonly events: ReceivedEvent[] = [];
  readonly location: string;
  #ended = false;
  readonly #abort = new AbortController();

  private constructor(location: string) {
    this.location = location;
  }

  /** True once the server ended the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Subscribes to `names` with the events Link of `postHeaders` (a WHEP 201's) and opens the stream. */
  static async open(baseUrl: string, postHeaders: Headers, names: string[] = ['active', 'inactive', 'viewercount', 'reconnect'], authorization?: string): Promise<EventClient> {
    const link = postHeaders.get('link') ?? '';
    const href = /<([^>]+)>; rel="urn:ietf:params:whep:ext:core:server-sent-events"/.exec(link)?.[1];
    if (!href) throw new Error(`no server-sent events Link in ${JSON.stringify(link)}`);
    const auth: Record<string, string> = authorization ? { Authorization: authorization } : {};
    const sub = await fetch(new URL(href, baseUrl), { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth }, body: JSON.stringify(names) });
    if (sub.status !== 201) throw new Error(`subscribing answered ${sub.status}: ${await sub.text()}`);
    const client = new EventClient(new URL(sub.headers.get('location')!, baseUrl).href);
    const res = await fetch(client.location, { headers: auth, signal: client.#abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`GET of the event stream answered ${res.status}`);
    void client.#read(res.body);
    return client;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined) this.events.push({ event, data: data === undefined ? undefined : JSON.parse(data), at: Date.now() });
        }
      }
    } catch {
      // aborted by close()
    }
    this.#ended = true;
  }

  /** Names of the events so far, in order. */
  names(): string[] {
    return this.events.map((e) => e.event);
  }

  /** Waits until `cond()` holds, bounded. */
  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => [e.event, e.data]))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops reading; idempotent. */
  close(): void {
    this.#abort.abort();
  }
}
