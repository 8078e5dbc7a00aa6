/**
 * A minimal PNG reader for tests: checks the signature and every chunk CRC, inflates the image
 * data and undoes the row filters, so tests can assert a PNG is valid *and* look at its pixels
 * (e.g. that text was drawn). Handles 8-bit RGB/RGBA/grey, non-interlaced — what resvg writes.
 */
import { crc32, inflateSync } from 'node:zlib';

/** A decoded PNG: size and 8-bit samples, `channels` per pixel, row-major. */
export interface DecodedPng {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * Decodes a PNG; throws on a bad signature, CRC, missing chunk or unsupported format.
 *
 * @example
 * const { width, height } = decodePng(readFileSync('fig.png'));
 */
export function decodePng(buf: Buffer): DecodedPng {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  let interlace = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    const crc = buf.readUInt32BE(pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== crc) throw new Error(`bad CRC in ${type} chunk`);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      channels = CHANNELS[body[9]] ?? 0;
      interlace = body[12];
      if (depth !== 8 || channels === 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${body[9]}`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos += 12 + len;
  }
  if (!ended) throw new Error('PNG has no IEND chunk (truncated?)');
  if (width === 0 || height === 0) throw new Error('PNG has no IHDR');
  if (interlace !== 0) throw new Error('interlaced PNG not supported');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`image data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = data.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? data.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let v: number;
      switch (filter) {
        case 0: v = src[x]; break;
        case 1: v = src[x] + a; break;
        case 2: v = src[x] + b; break;
        case 3: v = src[x] + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = src[x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default: throw new Error(`bad filter ${filter} on row ${y}`);
      }
      out[x] = v & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** Fraction of pixels in a rectangle whose grey level is below `threshold` (dark = ink). */
export function darkFraction(png: DecodedPng, rect = { x: 0, y: 0, w: png.width, h: png.height }, threshold = 128): number {
  let dark = 0;
  for (let y = rect.y; y < rect.y + rect.h; y++) {
    for (let x = rect.x; x < rect.x + rect.w; x++) {
      const i = (y * png.width + x) * png.channels;
      const grey = png.channels >= 3 ? (png.data[i] + png.data[i + 1] + png.data[i + 2]) / 3 : png.data[i];
      if (grey < threshold) dark++;
    }
  }
  return dark / (rect.w * rect.h);
}
