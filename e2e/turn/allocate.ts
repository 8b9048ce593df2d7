/**
 * TURN Allocates over TCP with long-term credentials, for e2e/turn/run.sh: asks coturn for a
 * UDP relay with each username and password given, and prints what coturn answered, one JSON
 * line each:
 *
 *   { "ok": true, "relayed": "203.0.113.30:49160", "realm": "whepd.test", "ms": 4 }
 *   { "ok": false, "code": 401, "reason": "Unauthorized", "realm": "whepd.test", "ms": 3 }
 *
 * RFC 8656 section 7.1 (Allocate, REQUESTED-TRANSPORT UDP) with the long-term credential mechanism
 * of RFC 8489 section 9.2: the first request carries no credentials and gets 401 with REALM and
 * NONCE; the second carries USERNAME, REALM, NONCE and MESSAGE-INTEGRITY keyed with
 * MD5(username ":" realm ":" password). Over TCP each STUN message is framed by its own length
 * (RFC 8489 section 6.2.2). Each username/password pair gets its own TCP connection and its own
 * line, in order. Exits 0 once every attempt got an answer (run.sh judges), 1 otherwise.
 *
 *   node --import=tsx e2e/turn/allocate.ts <host> <port> <username> <password> [<username> <password> ...]
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const [host = '', portArg = '', ...creds] = process.argv.slice(2);
if (!host || !portArg || creds.length === 0 || creds.length % 2 !== 0) {
  console.error('usage: allocate.ts <host> <port> <username> <password> [<username> <password> ...]');
  process.exit(2);
}
const COOKIE = 0x2112a442;
const ALLOCATE = 0x0003;
const SUCCESS = 0x0103;
const ERROR = 0x0113;
const ATTR = { username: 0x0006, integrity: 0x0008, error: 0x0009, realm: 0x0014, nonce: 0x0015, relayed: 0x0016, transport: 0x0019 };
/** Per attempt: connect, challenge and signed request. */
const TIMEOUT_MS = 5000;

/** One STUN attribute, padded to 4 bytes (RFC 8489 section 14). */
function attr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** An Allocate request; with `auth`, signed with MESSAGE-INTEGRITY (RFC 8489 section 14.5). */
function request(username: string, password: string, auth?: { realm: string; nonce: string }): Buffer {
  // REQUESTED-TRANSPORT: protocol 17 (UDP) and three reserved bytes.
  const attrs = [attr(ATTR.transport, Buffer.from([17, 0, 0, 0]))];
  if (auth) {
    attrs.push(attr(ATTR.username, Buffer.from(username)), attr(ATTR.realm, Buffer.from(auth.realm)), attr(ATTR.nonce, Buffer.from(auth.nonce)));
  }
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(ALLOCATE, 0);
  head.writeUInt32BE(COOKIE, 4);
  randomBytes(12).copy(head, 8);
  if (!auth) {
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  }
  // The length field counts MESSAGE-INTEGRITY (24 bytes) while the HMAC is computed without it.
  head.writeUInt16BE(body.length + 24, 2);
  const key = createHash('md5').update(`${username}:${auth.realm}:${password}`).digest();
  const mac = createHmac('sha1', key).update(Buffer.concat([head, body])).digest();
  return Buffer.concat([head, body, attr(ATTR.integrity, mac)]);
}

/** A STUN message's type and its attributes by type. */
interface Answer {
  type: number;
  attrs: Map<number, Buffer>;
}

/** Reads one whole STUN message (header, then type-length-value attributes). */
function parse(msg: Buffer): Answer {
  const attrs = new Map<number, Buffer>();
  for (let at = 20; at + 4 <= msg.length; ) {
    const type = msg.readUInt16BE(at);
    const len = msg.readUInt16BE(at + 2);
    attrs.set(type, msg.subarray(at + 4, at + 4 + len));
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: msg.readUInt16BE(0), attrs };
}

/** XOR-RELAYED-ADDRESS (RFC 8656 section 18.5), IPv4, encoded as XOR-MAPPED-ADDRESS (RFC 8489 section 14.2). */
function xorAddress(v: Buffer): string {
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  const ip = (v.readUInt32BE(4) ^ COOKIE) >>> 0;
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
}

/** One Allocate over its own TCP connection: the challenge, then the signed request. */
function attempt(username: string, password: string): Promise<object> {
  return new Promise((resolve) => {
    const started = performance.now();
    const sock = connect({ host, port: Number(portArg) });
    let buf = Buffer.alloc(0);
    let realm: string | undefined;
    let asked = false;
    const done = (out: object): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...out, realm, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
    sock.on('connect', () => sock.write(request(username, password)));
    sock.on('error', (err) => done({ ok: false, error: String(err) }));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
        const a = parse(buf.subarray(0, 20 + buf.readUInt16BE(2)));
        buf = buf.subarray(20 + buf.readUInt16BE(2));
        realm = a.attrs.get(ATTR.realm)?.toString() ?? realm;
        if (a.type === SUCCESS) {
          const relayed = a.attrs.get(ATTR.relayed);
          return done({ ok: true, relayed: relayed ? xorAddress(relayed) : null });
        }
        if (a.type !== ERROR) return done({ ok: false, error: `unexpected message type 0x${a.type.toString(16)}` });
        const e = a.attrs.get(ATTR.error) ?? Buffer.alloc(4);
        const code = (e[2] ?? 0) * 100 + (e[3] ?? 0);
        const nonce = a.attrs.get(ATTR.nonce)?.toString();
        // The first 401 is the challenge; a 401 to the signed request is the refusal.
        if (code === 401 && !asked && realm !== undefined && nonce !== undefined) {
          asked = true;
          sock.write(request(username, password, { realm, nonce }));
          continue;
        }
        return done({ ok: false, code, reason: e.subarray(4).toString() });
      }
    });
  });
}

let answered = true;
for (let i = 0; i < creds.length; i += 2) {
  const r = await attempt(creds[i] ?? '', creds[i + 1] ?? '');
  if ('error' in r) answered = false;
  console.log(JSON.stringify(r));
}
process.exit(answered ? 0 : 1);
