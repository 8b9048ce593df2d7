/**
 * Fan-out of one media kind to many viewers. Viewers are grouped by their negotiated payload
 * type so one packet buffer is rewritten once per group, not copied per viewer: node-datachannel
 * copies the bytes synchronously inside send, so the same buffer is reused for the next group.
 */
import { setPayloadType } from '../rtp/index.js';

/** Sends one packet to one viewer; must not throw. */
export type Send<V> = (viewer: V, packet: Buffer) => void;

/** One payload type and the viewers that negotiated it. */
interface Group<V> {
  readonly pt: number;
  readonly viewers: readonly V[];
}

/**
 * Viewers of one media kind, grouped by payload type. Plain arrays walked by index: forward()
 * runs per packet, and iterating a Map or Set there would allocate an iterator (and an entry
 * pair per group) for every packet. Arrays are replaced, never edited, on join and leave
 * (copy-on-write), so a viewer that leaves from inside a send cannot disturb the walk.
 */
export class PayloadTypeGroups<V> {
  #groups: readonly Group<V>[] = [];
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
    const group = this.#groups.find((g) => g.pt === payloadType);
    if (group?.viewers.includes(viewer)) return;
    const others = this.#groups.filter((g) => g !== group);
    this.#groups = [...others, { pt: payloadType, viewers: [...(group?.viewers ?? []), viewer] }];
    this.#size++;
  }

  /** Removes a viewer; returns whether it was there. */
  delete(viewer: V, payloadType: number): boolean {
    const group = this.#groups.find((g) => g.pt === payloadType);
    if (!group?.viewers.includes(viewer)) return false;
    const viewers = group.viewers.filter((v) => v !== viewer);
    const others = this.#groups.filter((g) => g !== group);
    this.#groups = viewers.length > 0 ? [...others, { pt: payloadType, viewers }] : others;
    this.#size--;
    return true;
  }

  /** Rewrites the packet's PT per group and hands it to every viewer of that group. Hot path. */
  forward(packet: Buffer): void {
    const groups = this.#groups;
    const send = this.#send;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] as Group<V>;
      setPayloadType(packet, group.pt);
      const viewers = group.viewers;
      for (let v = 0; v < viewers.length; v++) send(viewers[v] as V, packet);
    }
  }

  /** Drops every viewer. */
  clear(): void {
    this.#groups = [];
    this.#size = 0;
  }
}
