import t from 'tap';
import { PacketHistory } from './packet-history.js';

function packet(seq: number, fill: number, size = 100): Buffer {
  const b = Buffer.alloc(size, fill);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  return b;
}

t.test('returns the stored bytes by sequence number and counts hits and misses', async (t) => {
  const h = new PacketHistory(8);
  h.put(packet(10, 0xaa, 300));
  h.put(packet(11, 0xbb, 40));
  t.same(h.get(10), packet(10, 0xaa, 300));
  t.same(h.get(11), packet(11, 0xbb, 40));
  t.equal(h.get(12), undefined);
  t.same(h.counters, { hits: 2, misses: 1 });
});

t.test('rounds capacity up to a power of two and forgets what was overwritten', async (t) => {
  const h = new PacketHistory(5);
  t.equal(h.capacity, 8);
  for (let seq = 0; seq < 20; seq++) h.put(packet(seq, seq));
  t.equal(h.get(11), undefined, 'older than the ring');
  t.same(h.get(12), packet(12, 12));
  t.same(h.get(19), packet(19, 19));
});

t.test('keeps working across the 16-bit wrap', async (t) => {
  const h = new PacketHistory(16);
  for (const seq of [65534, 65535, 0, 1]) h.put(packet(seq, seq & 0xff));
  t.same(h.get(65535), packet(65535, 0xff));
  t.same(h.get(0), packet(0, 0));
});

t.test('the stored copy does not change when the caller reuses its buffer', async (t) => {
  const h = new PacketHistory(4);
  const b = packet(3, 0x11);
  h.put(b);
  b.fill(0x22, 12);
  t.equal(h.get(3)?.[50], 0x11);
});

t.test('clear() forgets every packet; oversize packets are not stored', async (t) => {
  const h = new PacketHistory(4);
  h.put(packet(1, 1));
  h.clear();
  t.equal(h.get(1), undefined);
  h.put(packet(2, 2, 1600));
  t.equal(h.get(2), undefined);
});
