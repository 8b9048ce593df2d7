/**
 * The last packets of one outgoing RTP stream, by sequence number, for NACK retransmission
 * (RFC 4585 section 6.2.1). One history serves every viewer of a stream: viewers share the
 * stream's SSRC and sequence numbers, so a per-viewer store (libdatachannel's RtcpNackResponder)
 * would keep one copy per viewer of the same bytes and pay a copy per packet per viewer.
 */
import { MAX_RTP_BYTES, sequenceNumber } from './packet.js';

/** Lookup side of a history, what a retransmitting peer needs. */
export interface PacketLookup {
  /** Like get() but not counted as a retransmission lookup. */
  peek(seq: number): Buffer | undefined;
  /**
   * The stored packet with this sequence number, or undefined when it is older than the history
   * or was never stored. The bytes are the history's own: copy or send them before the next put().
   */
  get(seq: number): Buffer | undefined;
}

/** Counters for status pages: lookups that found their packet and those that did not. */
export interface PacketHistoryCounters {
  hits: number;
  misses: number;
}

/** A ring of preallocated slots indexed by sequence number modulo the capacity. */
export class PacketHistory implements PacketLookup {
  readonly counters: PacketHistoryCounters = { hits: 0, misses: 0 };
  readonly #capacity: number;
  readonly #slab: Buffer;
  readonly #lengths: Int32Array;
  readonly #seqs: Int32Array;

  /** `capacity` is rounded up to a power of two so a slot is `seq & mask`. */
  constructor(capacity: number) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.#capacity = c;
    this.#slab = Buffer.alloc(c * MAX_RTP_BYTES);
    this.#lengths = new Int32Array(c);
    this.#seqs = new Int32Array(c).fill(-1);
  }

  /** Number of packets it can hold. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Copies the packet in; hot path (one call per packet, no allocation). */
  put(packet: Buffer): void {
    const len = packet.length;
    if (len > MAX_RTP_BYTES) return;
    const seq = sequenceNumber(packet);
    const slot = seq & (this.#capacity - 1);
    packet.copy(this.#slab, slot * MAX_RTP_BYTES, 0, len);
    this.#lengths[slot] = len;
    this.#seqs[slot] = seq;
  }

  get(seq: number): Buffer | undefined {
    const packet = this.peek(seq);
    if (packet) this.counters.hits++;
    else this.counters.misses++;
    return packet;
  }

  /** Like get() without counting: for replays, which are not retransmissions. */
  peek(seq: number): Buffer | undefined {
    const slot = seq & (this.#capacity - 1);
    if (this.#seqs[slot] !== (seq & 0xffff)) return undefined;
    const start = slot * MAX_RTP_BYTES;
    return this.#slab.subarray(start, start + (this.#lengths[slot] as number));
  }

  /** Forgets every packet (a new FFmpeg run starts a new sequence space). */
  clear(): void {
    this.#seqs.fill(-1);
  }
}
