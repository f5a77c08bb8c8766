// The browser test's page (bundled with esbuild): @moq/net subscribes to
// an fr-origin track through fr-relay over WebTransport and checks every
// object as fr-sub does: the media header of examples/common/media.h
// (magic, version, length, group and object IDs as MoQT delivered them,
// sequence numbers +1 from the first), and its CRC-32C.
import * as Moq from "@moq/net";
import { checkObject } from "../../examples/web/media.js";

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
        const { header, problem } = checkObject(f.payload, g.sequence, f.sequence);
        r.objects++;
        r.bytes += f.payload.length;
        if (header) r.seqs.push(Number(header.seq));
        if (problem) {
          r.corrupt++;
          if (r.problems.length < 10) r.problems.push(`group ${g.sequence} object ${f.sequence}: ${problem}`);
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
