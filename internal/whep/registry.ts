/**
 * Session registry: stream id -> resource id -> session, plus admission. A slot is reserved
 * synchronously before any await, so concurrent POSTs cannot overshoot either cap, and sessions
 * still negotiating count against both.
 */
import { OverloadedError } from '../errors/index.js';
import type { Session } from './session.js';

/** The caps, enforced separately. */
export interface Caps {
  viewersPerStream: number;
  viewersTotal: number;
  /** Slots still negotiating (POSTs in flight plus sessions not connected yet); absent = no cap. */
  pendingSessions?: number;
}

/** A held admission slot; release() is idempotent. */
export interface Slot {
  release(): void;
}

/** Sessions by stream and resource id, with the cap counters. */
export class SessionRegistry {
  #caps: Caps;
  readonly #byStream = new Map<string, Map<string, Session>>();
  readonly #slotsByStream = new Map<string, number>();
  #slotsTotal = 0;

  constructor(caps: Caps) {
    this.#caps = { ...caps };
  }

  /** Changes the caps (config reload); sessions over a lowered cap keep running. */
  setCaps(caps: Caps): void {
    this.#caps = { ...caps };
  }

  /**
   * Slots still negotiating: every held slot is a POST in flight or a session, so this is the
   * slots minus the sessions that connected.
   */
  pending(): number {
    let connected = 0;
    for (const m of this.#byStream.values()) for (const s of m.values()) if (s.connectedAt !== undefined) connected++;
    return this.#slotsTotal - connected;
  }

  /** Slots held in total (negotiating + active). */
  get total(): number {
    return this.#slotsTotal;
  }

  /** Slots held for one stream. */
  countFor(streamId: string): number {
    return this.#slotsByStream.get(streamId) ?? 0;
  }

  /** Reserves a slot or throws 503 naming the cap that is full. */
  reserve(streamId: string): Slot {
    const perStream = this.countFor(streamId);
    if (perStream >= this.#caps.viewersPerStream) {
      throw new OverloadedError('STREAM_FULL', `stream ${streamId} has reached its viewer cap (viewersPerStream = ${this.#caps.viewersPerStream})`);
    }
    if (this.#slotsTotal >= this.#caps.viewersTotal) {
      throw new OverloadedError('SERVER_FULL', `whepd has reached its total viewer cap (viewersTotal = ${this.#caps.viewersTotal})`);
    }
    const maxPending = this.#caps.pendingSessions;
    if (maxPending !== undefined && this.pending() >= maxPending) {
      throw new OverloadedError('TOO_MANY_PENDING', `too many sessions are still negotiating (limits.pendingSessions = ${maxPending})`);
    }
    this.#slotsByStream.set(streamId, perStream + 1);
    this.#slotsTotal++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const n = this.countFor(streamId) - 1;
        if (n > 0) this.#slotsByStream.set(streamId, n);
        else this.#slotsByStream.delete(streamId);
        this.#slotsTotal--;
      },
    };
  }

  /** Indexes a session; it leaves the index and frees its slot when it closes. */
  add(session: Session, slot: Slot): void {
    let sessions = this.#byStream.get(session.streamId);
    if (!sessions) {
      sessions = new Map();
      this.#byStream.set(session.streamId, sessions);
    }
    sessions.set(session.id, session);
    session.once('close', () => {
      const m = this.#byStream.get(session.streamId);
      m?.delete(session.id);
      if (m && m.size === 0) this.#byStream.delete(session.streamId);
      slot.release();
    });
  }

  /** Finds a session of a stream. */
  get(streamId: string, resourceId: string): Session | undefined {
    return this.#byStream.get(streamId)?.get(resourceId);
  }

  /** All sessions of one stream, or of every stream. */
  list(streamId?: string): Session[] {
    if (streamId !== undefined) return [...(this.#byStream.get(streamId)?.values() ?? [])];
    return [...this.#byStream.values()].flatMap((m) => [...m.values()]);
  }

  /** Closes every session (shutdown). */
  closeAll(reason: string): void {
    for (const s of this.list()) s.close(reason);
  }
}
