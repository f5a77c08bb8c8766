// The watch page: plays an fr-origin video track live from fr-relay over
// WebTransport (moqt.js), decoding with WebCodecs, and shows what arrived:
// objects, missing and corrupt ones, one-way delay from fr-origin, and
// which path the relay forwards on. The page's server (serve.py) tells
// it where the relay is (/config.json), the time on fr-origin's clock
// (/clock) and the relay's statistics (/relay.json). Everything shown is
// also in globalThis.watchStats, for tests.
import { FLAG_FRAME, checkObject, videoBody } from "./media.js";
import { subscribe } from "./moqt.js";

const CODECS = { VP80: "vp8", VP90: "vp09.00.10.08", AV01: "av01.0.04M.08" };
const DELAY_WINDOW = 300; // objects the delay percentiles are taken over
const $ = (id) => document.getElementById(id);

const stats = {
  state: "starting", protocol: null, objects: 0, bytes: 0, missing: 0,
  corrupt: 0, problems: [], framesDecoded: 0, framesDrawn: 0, skipped: 0,
  decodeErrors: 0, delayMs: { p50: null, p99: null, max: null },
  codec: null, width: 0, height: 0, path: "unknown", clockRttMs: null, events: [],
};
globalThis.watchStats = stats;

function event(text) {
  stats.events.push(text);
  if (stats.events.length > 8) stats.events.shift();
}

// fr-origin stamps objects with CLOCK_MONOTONIC; the server reads that
// clock. The offset to performance.now() is taken at the midpoint of the
// quickest of a few requests (its round trip bounds the error).
async function monotonicOffsetNs() {
  let best = null;
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const { monotonic_ns: mono } = await (await fetch("/clock", { cache: "no-store" })).json();
    const t1 = performance.now();
    if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: mono - ((t0 + t1) / 2) * 1e6 };
  }
  stats.clockRttMs = best.rtt;
  return best.offset;
}

const delays = [];
function addDelay(ms) {
  delays.push(ms);
  if (delays.length > DELAY_WINDOW) delays.shift();
  const s = [...delays].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  stats.delayMs = { p50: at(0.5), p99: at(0.99), max: Math.max(stats.delayMs.max ?? 0, ms) };
}

// Frames decode in (group, object) order; objects of one group may come
// on two streams (fr-origin sends key frames apart). A later group's key
// frame waiting while the current group has a gap means the gap will not
// be filled in time: playback moves on to it.
class Player {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.pending = new Map(); // "group:object" -> { group, object, body }
    this.next = null;          // { group, object } to decode next
    this.decoder = null;
    this.config = "";
  }

  add(group, object, body) {
    if (this.next && (group < this.next.group ||
        (group === this.next.group && object < this.next.object)))
      return; // too late: playback is past it
    this.pending.set(`${group}:${object}`, { group, object, body });
    if (!this.next && body.key) {
      this.next = { group, object };
      this.dropBefore(group);
    }
    this.drain();
  }

  drain() {
    while (this.next) {
      const k = `${this.next.group}:${this.next.object}`;
      const entry = this.pending.get(k);
      if (!entry) {
        if (!this.skipToLaterKey()) return;
        continue;
      }
      this.pending.delete(k);
      this.decode(entry.body);
      this.next.object++;
    }
  }

  skipToLaterKey() {
    let best = null;
    for (const { group, object, body } of this.pending.values())
      if (body.key && group > this.next.group && (!best || group < best.group)) best = { group, object };
    if (!best) return false;
    stats.skipped += this.dropBefore(best.group);
    this.next = best;
    return true;
  }

  // Forgets the objects of groups before `group`; returns how many.
  dropBefore(group) {
    let n = 0;
    for (const [k, entry] of [...this.pending])
      if (entry.group < group) { this.pending.delete(k); n++; }
    return n;
  }

  configure(info) {
    const codec = CODECS[info.fourcc];
    if (!codec) throw new Error(`codec ${info.fourcc} is not one this page plays`);
    const want = `${codec} ${info.width}x${info.height}`;
    if (this.decoder && this.decoder.state !== "closed" && want === this.config) return;
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = new VideoDecoder({
      output: (frame) => this.draw(frame),
      error: (e) => { stats.decodeErrors++; event(`decoder: ${e.message}`); },
    });
    this.decoder.configure({ codec, codedWidth: info.width, codedHeight: info.height });
    this.config = want;
    this.timebase = info.tbNum / info.tbDen;
    Object.assign(stats, { codec, width: info.width, height: info.height });
  }

  decode(body) {
    if (body.key) this.configure(body.info);
    if (!this.decoder || this.decoder.state !== "configured") return;
    this.decoder.decode(new EncodedVideoChunk({
      type: body.key ? "key" : "delta",
      timestamp: Math.round(Number(body.pts) * this.timebase * 1e6),
      data: body.frame,
    }));
  }

  draw(frame) {
    stats.framesDecoded++;
    if (this.canvas.width !== frame.displayWidth || this.canvas.height !== frame.displayHeight) {
      this.canvas.width = frame.displayWidth;
      this.canvas.height = frame.displayHeight;
    }
    this.ctx.drawImage(frame, 0, 0);
    frame.close();
    stats.framesDrawn++;
  }
}

function render() {
  const d = stats.delayMs;
  const ms = (v) => (v === null ? "–" : `${v.toFixed(1)} ms`);
  const rows = [
    ["state", stats.state], ["protocol", stats.protocol ?? "–"],
    ["relay path", stats.path],
    ["video", stats.codec ? `${stats.codec} ${stats.width}×${stats.height}` : "–"],
    ["objects", `${stats.objects} (${(stats.bytes / 1e6).toFixed(2)} MB)`],
    ["missing / corrupt", `${stats.missing} / ${stats.corrupt}`],
    ["frames drawn", `${stats.framesDrawn} (skipped ${stats.skipped}, decode errors ${stats.decodeErrors})`],
    ["delay p50 / p99 / max", `${ms(d.p50)} / ${ms(d.p99)} / ${ms(d.max)}`],
  ];
  $("stats").replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    for (const t of [k, v]) {
      const td = document.createElement("td");
      td.textContent = t;
      tr.append(td);
    }
    return tr;
  }));
  $("events").textContent = stats.events.join("\n");
}

// The relay's path from its statistics (fr-relay --json, rewritten at
// every status interval): with a fast path, the share of media copies
// the kernel sent so far.
async function pollRelay() {
  try {
    const r = await fetch("/relay.json", { cache: "no-store" });
    if (!r.ok) return;
    const fp = (await r.json()).fastpath;
    if (!fp) {
      stats.path = "userspace";
      return;
    }
    const all = fp.kernel_copies + fp.userspace_copies;
    stats.path = all ? `kernel fast path: ${(100 * fp.kernel_copies / all).toFixed(1)} % of copies from the kernel`
                     : "kernel fast path (no copies yet)";
  } catch {
    // The server may be gone (the demo ended): keep what was known.
    if (stats.path === "unknown") stats.path = "unknown (no relay statistics)";
  }
}

async function main() {
  const config = await (await fetch("/config.json")).json();
  const q = new URLSearchParams(location.search);
  const url = q.get("url") ?? config.url;
  const hash = q.get("hash") ?? config.hash;
  const namespace = (q.get("namespace") ?? config.namespace).split("/");
  const track = q.get("track") ?? config.track;
  $("source").textContent = `${url} — ${namespace.join("/")}/${track}`;
  const offsetNs = await monotonicOffsetNs();
  const player = new Player($("video"));
  // Sequence numbers run +1 per object from fr-origin; what lies between
  // the smallest and largest seen and did not come is missing (objects
  // still on their way on another stream count until they arrive).
  let seqMin = null, seqMax = null, seqCount = 0;
  const session = subscribe({
    url, hash, namespace, track,
    onEvent: (text) => {
      event(text);
      const m = /^connected \((.*)\)$/.exec(text);
      if (m) { stats.protocol = m[1]; stats.state = "playing"; }
    },
    onObject: ({ group, object, payload }) => {
      stats.objects++;
      stats.bytes += payload.length;
      const { header, problem } = checkObject(payload, group, object);
      if (header) {
        const seq = Number(header.seq);
        seqMin = seqMin === null ? seq : Math.min(seqMin, seq);
        seqMax = seqMax === null ? seq : Math.max(seqMax, seq);
        seqCount++;
        stats.missing = seqMax - seqMin + 1 - seqCount;
        addDelay((performance.now() * 1e6 + offsetNs - Number(header.sendNs)) / 1e6);
      }
      if (problem) {
        stats.corrupt++;
        if (stats.problems.length < 10) stats.problems.push(`group ${group} object ${object}: ${problem}`);
        return;
      }
      if (!(header.flags & FLAG_FRAME)) return; // synthetic filler, nothing to play
      const body = videoBody(payload, header);
      try {
        if (body) player.add(group, object, body);
      } catch (e) {
        event(e.message);
      }
    },
  });
  globalThis.watchClose = session.close;
  setInterval(render, 250);
  setInterval(pollRelay, 1000);
  pollRelay();
  const why = await session.ended;
  stats.state = `ended: ${why}`;
  render();
}

main().catch((e) => {
  stats.state = `failed: ${e.message ?? e}`;
  render();
});
