// The browser test's page (bundled with esbuild): @moq/net subscribes to
// an fr-origin track through fr-relay over WebTransport and checks every
// object as fr-sub does: the media header of examples/common/media.h
// (magic, version, length, group and object IDs as MoQT delivered them,
// sequence numbers +1 from the first), and its CRC-32C.
import * as Moq from "@moq/net";

const HDR_LEN = 40;
const MAGIC = 0x4d46;

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

// Why payload p is not the object (group, object) of an fr-origin track,
// or null; the sequence number goes to out.seq.
function problem(p, group, object, out) {
  if (p.length < HDR_LEN) return `${p.length} bytes, shorter than a header`;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (v.getUint16(0, true) !== MAGIC || p[2] !== 1) return "bad magic or version";
  out.seq = v.getBigUint64(4, true);
  if (v.getUint32(32, true) !== p.length) return "length field differs";
  if (v.getBigUint64(20, true) !== BigInt(group) || v.getUint32(28, true) !== object)
    return `header names group ${v.getBigUint64(20, true)} object ${v.getUint32(28, true)}`;
  const crc = crc32c(crc32c(0, p, 0, 36), p, 40, p.length);
  if (crc !== v.getUint32(36, true)) return "CRC-32C mismatch";
  return null;
}

// Subscribes for `seconds` and returns what arrived. Objects are checked
// in the order each group delivers them; groups may interleave.
globalThis.subscribeAndCheck = async function ({ url, hash, protocols, seconds, namespace, track }) {
  const r = { protocol: null, objects: 0, bytes: 0, groups: 0, corrupt: 0,
              problems: [], seqs: [], errors: [] };
  const webtransport = { serverCertificateHashes: [{ algorithm: "sha-256", value: hash }] };
  if (protocols) webtransport.protocols = protocols;
  let conn;
  try {
    conn = await Moq.Connection.connect(new URL(url), {
      webtransport, websocket: { enabled: false }, signal: AbortSignal.timeout(10000) });
  } catch (e) {
    r.errors.push(`connect: ${e}`);
    return r;
  }
  r.protocol = String(conn.version);
  const sub = conn.consume(Moq.Path.from(namespace)).track(track).subscribe();
  const readers = [];
  const readGroup = async (g) => {
    r.groups++;
    try {
      for (;;) {
        const f = await g.readFrameSequence();
        if (!f) return;
        const out = {};
        const why = problem(f.payload, g.sequence, f.sequence, out);
        r.objects++;
        r.bytes += f.payload.length;
        if (out.seq !== undefined) r.seqs.push(Number(out.seq));
        if (why) {
          r.corrupt++;
          if (r.problems.length < 10) r.problems.push(`group ${g.sequence} object ${f.sequence}: ${why}`);
        }
      }
    } catch (e) {
      r.errors.push(`group ${g.sequence}: ${e}`);
    }
  };
  const receiving = (async () => {
    for (;;) {
      const g = await sub.recvGroup();
      if (!g) return;
      readers.push(readGroup(g));
    }
  })().catch((e) => r.errors.push(`receive: ${e}`));
  await Promise.race([receiving, new Promise((ok) => setTimeout(ok, seconds * 1000))]);
  await Promise.race([Promise.allSettled(readers), new Promise((ok) => setTimeout(ok, 1000))]);
  sub.close();
  conn.close();
  return r;
};
