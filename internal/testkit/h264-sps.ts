/** Reads the picture size from an H264 SPS (ITU-T H.264 section 7.3.2.1.1) so tests can tell streams apart. */

class BitReader {
  #pos = 0;
  readonly #buf: Buffer;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  bit(): number {
    const byte = this.#buf[this.#pos >> 3];
    if (byte === undefined) throw new Error('SPS truncated');
    const b = (byte >> (7 - (this.#pos & 7))) & 1;
    this.#pos++;
    return b;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) zeros++;
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

function unescape(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i] as number);
  }
  return Buffer.from(out);
}

/** Width and height coded in an SPS NAL unit (header byte included). */
export function spsSize(nal: Buffer): { width: number; height: number } {
  const r = new BitReader(unescape(nal.subarray(1)));
  const profile = r.bits(8);
  r.bits(16); // constraint flags, level
  r.ue(); // seq_parameter_set_id
  let chroma = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.bit();
    r.ue();
    r.ue();
    r.bit();
    if (r.bit()) throw new Error('SPS scaling matrices are not supported by this reader');
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit();
  const wMbs = r.ue() + 1;
  const hUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit(); // direct_8x8_inference
  let [cl, cr, ct, cb] = [0, 0, 0, 0];
  if (r.bit()) [cl, cr, ct, cb] = [r.ue(), r.ue(), r.ue(), r.ue()];
  const cropX = chroma === 0 ? 1 : 2;
  const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return { width: wMbs * 16 - cropX * (cl + cr), height: hUnits * 16 * (2 - frameMbsOnly) - cropY * (ct + cb) };
}

/** Finds the SPS in an RTP payload (single NAL or STAP-A) and returns its size, if any. */
export function spsSizeFromPayload(payload: Buffer): { width: number; height: number } | undefined {
  const type = (payload[0] as number) & 0x1f;
  if (type === 7) return spsSize(payload);
  if (type !== 24) return undefined;
  let off = 1;
  while (off + 2 < payload.length) {
    const size = payload.readUInt16BE(off);
    off += 2;
    if (((payload[off] as number) & 0x1f) === 7) return spsSize(payload.subarray(off, off + size));
    off += size;
  }
  return undefined;
}
