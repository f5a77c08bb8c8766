// The media payload of fr-origin's tracks (examples/common/media.h and
// examples/video.h), read in a browser: the 40-byte header every object
// starts with (magic, version, flags, sequence number, send time, group
// and object ID, length, CRC-32C), and the body of a real video frame
// (timestamp; on key frames the stream description; the frame).

export const HDR_LEN = 40;
const MAGIC = 0x4d46;
const VERSION = 1;
export const FLAG_KEY = 0x01;
export const FLAG_FRAME = 0x02;

// CRC-32C (Castagnoli), reflected, table-driven.
const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

function crc32c(crc, bytes, from, to) {
  crc = ~crc >>> 0;
  for (let i = from; i < to; i++)
    crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

// Checks payload p as the object (group, object) of an fr-origin track.
// Returns { header } or { problem } (why it is not that object); the
// header has seq and sendNs as BigInt, flags and the body's offset.
export function checkObject(p, group, object) {
  if (p.length < HDR_LEN) return { problem: `${p.length} bytes, shorter than a header` };
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (v.getUint16(0, true) !== MAGIC || p[2] !== VERSION)
    return { problem: "bad magic or version" };
  const header = { flags: p[3], seq: v.getBigUint64(4, true),
                   sendNs: v.getBigUint64(12, true), body: HDR_LEN };
  if (v.getUint32(32, true) !== p.length) return { header, problem: "length field differs" };
  if (v.getBigUint64(20, true) !== BigInt(group) || v.getUint32(28, true) !== Number(object))
    return { header, problem: `header names group ${v.getBigUint64(20, true)} object ${v.getUint32(28, true)}` };
  if (crc32c(crc32c(0, p, 0, 36), p, 40, p.length) !== v.getUint32(36, true))
    return { header, problem: "CRC-32C mismatch" };
  return { header };
}

const PTS_LEN = 8;
const INFO_LEN = 16;

// The video body of a checked object (header.flags has FLAG_FRAME):
// { pts, info, frame } with info (fourcc, width, height, tbDen, tbNum)
// on key frames only; null when the body is too short for its kind.
export function videoBody(p, header) {
  const key = (header.flags & FLAG_KEY) !== 0;
  const at = header.body;
  if (p.length < at + PTS_LEN + (key ? INFO_LEN : 0)) return null;
  const v = new DataView(p.buffer, p.byteOffset + at, p.byteLength - at);
  const body = { key, pts: v.getBigUint64(0, true), info: null };
  let head = PTS_LEN;
  if (key) {
    const fourcc = String.fromCharCode(p[at + 8], p[at + 9], p[at + 10], p[at + 11]);
    body.info = { fourcc, width: v.getUint16(12, true), height: v.getUint16(14, true),
                  tbDen: v.getUint32(16, true), tbNum: v.getUint32(20, true) };
    head += INFO_LEN;
  }
  body.frame = p.subarray(at + head);
  return body;
}
