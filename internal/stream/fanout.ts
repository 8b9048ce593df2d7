/**
 * Fan-out of one media kind to many viewers. Viewers are grouped by their negotiated payload
 * type so one packet buffer is rewritten once per group, not copied per viewer: node-datachannel
 * copies the bytes synchronously inside send, so the same buffer is reused for the next group.
 */
import { setPayloadType } from '../rtp/index.js';

/** Sends one packet to one viewer; must not throw. */
export type Send<V> = (viewer: V, packet: Buffer) => void;

/** Viewers of one media kind, grouped by payload type. */
export class PayloadTypeGroups<V> {
  readonly #groups = new Map<number, Set<V>>();
  readonly #send: Send<V>;
  #size = 0;

  constructor(send: Send<V>) {
    this.#send = send;
  }

  /** Number of viewers in every group. */
  get size(): number {
    return this.#size;
  }

  /** Adds a viewer under its payload type (no-op if present). */
  add(viewer: V, payloadType: number): void {
    let group = this.#groups.get(payloadType);
    if (!group) {
      group = new Set();
      this.#groups.set(payloadType, group);
    }
    if (!group.has(viewer)) {
      group.add(viewer);
      this.#size++;
    }
  }

  /** Removes a viewer; returns whether it was there. */
  delete(viewer: V, payloadType: number): boolean {
    const group = this.#groups.get(payloadType);
    if (!group?.delete(viewer)) return false;
    this.#size--;
    if (group.size === 0) this.#groups.delete(payloadType);
    return true;
  }

  /** Rewrites the packet's PT per group and hands it to every viewer of that group. Hot path. */
  forward(packet: Buffer): void {
    for (const [pt, group] of this.#groups) {
      setPayloadType(packet, pt);
      for (const viewer of group) this.#send(viewer, packet);
    }
  }

  /** Drops every viewer. */
  clear(): void {
    this.#groups.clear();
    this.#size = 0;
  }
}
