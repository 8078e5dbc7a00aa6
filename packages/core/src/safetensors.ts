/**
 * `.safetensors` encoding (the field's interchange format, readable by PyTorch's `safetensors`):
 * an 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype,
 * shape and byte range, then the raw little-endian data. We write F32 only and read F32, F16 and
 * BF16. Core works on bytes; reading and writing files is the caller's business.
 */

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Thrown for a malformed or incompatible `.safetensors` payload. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/**
 * Encodes named float32 arrays (in the given order) with string metadata.
 *
 * @example
 * const bytes = encodeSafetensors(new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]), { format: 'pt' });
 */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new SafetensorsError(`tensor '${name}': shape [${t.shape}] needs ${expected} values, got ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, cursor);
    cursor += bytes.length;
  }
  return out;
}

/** Decodes a `.safetensors` payload; every tensor comes back as float32. */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (bytes.length < 8) throw new SafetensorsError(`file is ${bytes.length} bytes; a .safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > bytes.length) {
    throw new SafetensorsError(`header length ${headerLength} does not fit in a ${bytes.length}-byte file; the file is truncated or not .safetensors`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON (${(e as Error).message}); the file is corrupt or not .safetensors`);
  }
  const dataStart = 8 + headerLength;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, NamedArray>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = data_offsets ?? [];
    if (!Array.isArray(shape) || !Number.isInteger(begin) || !Number.isInteger(end) || dataStart + end > bytes.length || begin > end) {
      throw new SafetensorsError(`tensor '${name}' has a malformed header entry or points past the end of the file (truncated?)`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const raw = bytes.slice(dataStart + begin, dataStart + end); // copy: aligned for typed-array views
    tensors.set(name, { shape, data: toFloat32(raw, dtype, size, name) });
  }
  return { tensors, metadata };
}

function toFloat32(raw: Uint8Array, dtype: string, size: number, name: string): Float32Array {
  const bytesPer: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
  if (!(dtype in bytesPer)) throw new SafetensorsError(`tensor '${name}' has dtype ${dtype}; only F32, F16 and BF16 can be loaded (convert with torch: t.float())`);
  if (raw.length !== size * bytesPer[dtype]) throw new SafetensorsError(`tensor '${name}': ${raw.length} bytes for ${size} ${dtype} values`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'BF16') out[i] = bf16ToFloat(view.getUint16(i * 2, true));
    else out[i] = f16ToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

function bf16ToFloat(bits: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, bits << 16, false);
  return buf.getFloat32(0, false);
}

function f16ToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
