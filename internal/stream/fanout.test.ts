import t from 'tap';
import { PayloadTypeGroups } from './fanout.js';

interface Delivery {
  viewer: string;
  /** Second header byte as the viewer saw it during send (the buffer is rewritten for the next group). */
  byte1: number;
  /** Same buffer object the packet arrived in (no per-viewer copies). */
  same: boolean;
  rest: Buffer;
}

function rtp(pt: number, marker: boolean): Buffer {
  return Buffer.from([0x80, (marker ? 0x80 : 0) | pt, 0x12, 0x34, 0, 0, 0x0b, 0xb8, 0xde, 0xad, 0xbe, 0xef, 0x65, 0x88, 0x84]);
}

/** Groups whose send records what each viewer saw at the moment it was called. */
function recorder(): { groups: PayloadTypeGroups<string>; deliveries: Delivery[]; current: { packet?: Buffer } } {
  const deliveries: Delivery[] = [];
  const current: { packet?: Buffer } = {};
  const groups = new PayloadTypeGroups<string>((viewer, packet) => {
    deliveries.push({ viewer, byte1: packet[1] as number, same: packet === current.packet, rest: Buffer.from(packet.subarray(2)) });
  });
  return { groups, deliveries, current };
}

function forward(r: ReturnType<typeof recorder>, packet: Buffer): void {
  r.current.packet = packet;
  r.groups.forward(packet);
}

t.test('PayloadTypeGroups.forward() gives each group the packet rewritten to its PT', async (t) => {
  const r = recorder();
  r.groups.add('chrome-1', 108);
  r.groups.add('chrome-2', 108);
  r.groups.add('other', 102);
  const packet = rtp(96, false);
  const body = Buffer.from(packet.subarray(2));
  forward(r, packet);
  t.equal(r.deliveries.length, 3, 'every viewer once');
  const byViewer = new Map(r.deliveries.map((d) => [d.viewer, d]));
  t.equal(byViewer.get('chrome-1')?.byte1, 108);
  t.equal(byViewer.get('chrome-2')?.byte1, 108);
  t.equal(byViewer.get('other')?.byte1, 102);
  t.ok(r.deliveries.every((d) => d.same), 'one shared buffer, no copies');
  t.ok(r.deliveries.every((d) => d.rest.equals(body)), 'only the PT byte changes');
  const order = r.deliveries.map((d) => d.viewer);
  t.ok(Math.abs(order.indexOf('chrome-1') - order.indexOf('chrome-2')) === 1, 'a group is served together (one rewrite per group)');
});

t.test('PayloadTypeGroups.forward() keeps the marker bit in every group', async (t) => {
  const r = recorder();
  r.groups.add('a', 108);
  r.groups.add('b', 102);
  forward(r, rtp(96, true));
  t.same(r.deliveries.map((d) => [d.viewer, d.byte1]).sort(), [['a', 0x80 | 108], ['b', 0x80 | 102]]);
  r.deliveries.length = 0;
  forward(r, rtp(96, false));
  t.same(r.deliveries.map((d) => [d.viewer, d.byte1]).sort(), [['a', 108], ['b', 102]], 'and does not invent one');
});

t.test('PayloadTypeGroups.forward() with no viewers leaves the packet alone', async (t) => {
  const r = recorder();
  const p = rtp(96, true);
  forward(r, p);
  t.equal(r.deliveries.length, 0);
  t.equal(p[1], 0x80 | 96);
});

t.test('PayloadTypeGroups.add() counts viewers and ignores a duplicate', async (t) => {
  const r = recorder();
  t.equal(r.groups.size, 0);
  r.groups.add('a', 108);
  r.groups.add('b', 108);
  r.groups.add('c', 111);
  t.equal(r.groups.size, 3);
  r.groups.add('a', 108);
  t.equal(r.groups.size, 3, 'duplicate add is a no-op');
  forward(r, rtp(96, false));
  t.equal(r.deliveries.filter((d) => d.viewer === 'a').length, 1, 'a duplicate does not get the packet twice');
});

t.test('PayloadTypeGroups.delete() removes only from the named group and reports whether it did', async (t) => {
  const r = recorder();
  r.groups.add('a', 108);
  r.groups.add('b', 102);
  t.equal(r.groups.delete('a', 102), false, 'wrong group');
  t.equal(r.groups.delete('zz', 108), false, 'unknown viewer');
  t.equal(r.groups.delete('x', 55), false, 'unknown group');
  t.equal(r.groups.size, 2);
  t.equal(r.groups.delete('a', 108), true);
  t.equal(r.groups.size, 1);
  t.equal(r.groups.delete('a', 108), false, 'second delete');
  t.equal(r.groups.size, 1);
  forward(r, rtp(96, false));
  t.same(r.deliveries.map((d) => d.viewer), ['b']);
  r.groups.add('a', 108);
  t.equal(r.groups.size, 2, 'can be added back after its group emptied');
});

t.test('PayloadTypeGroups.clear() drops every viewer', async (t) => {
  const r = recorder();
  r.groups.add('a', 108);
  r.groups.add('b', 102);
  r.groups.clear();
  t.equal(r.groups.size, 0);
  forward(r, rtp(96, false));
  t.equal(r.deliveries.length, 0);
  t.equal(r.groups.delete('a', 108), false);
  t.equal(r.groups.size, 0, 'size does not go negative');
  r.groups.add('a', 108);
  t.equal(r.groups.size, 1);
});

t.test('PayloadTypeGroups.forward() lets a viewer remove itself during send', async (t) => {
  const seen: string[] = [];
  const groups: PayloadTypeGroups<string> = new PayloadTypeGroups<string>((viewer) => {
    seen.push(viewer);
    if (viewer === 'a') groups.delete('a', 108);
  });
  groups.add('a', 108);
  groups.add('b', 108);
  groups.forward(rtp(96, false));
  t.same(seen, ['a', 'b']);
  t.equal(groups.size, 1);
  seen.length = 0;
  groups.forward(rtp(96, false));
  t.same(seen, ['b']);
});
