// A minimal MoQT subscriber for browsers: draft 18 (wt-protocol
// "moqt-18") over WebTransport, just what a player needs from a relay.
// It opens its control stream with an empty SETUP, subscribes to one
// track from the start of the next group (SUBSCRIPTION_FILTER Next Group
// Start), and hands every object of that track's subgroup streams to
// the caller as it completes. No dependencies; the wire format is the
// draft's (../../../shared/reference in the development tree).

const MSG_SETUP = 0x2f00; // also the control stream's stream type
const MSG_GOAWAY = 0x10;
const MSG_SUBSCRIBE = 0x3;
const MSG_SUBSCRIBE_OK = 0x4;
const MSG_REQUEST_ERROR = 0x5;
const MSG_PUBLISH_DONE = 0xb;
const PARAM_SUBSCRIPTION_FILTER = 0x21;
const FILTER_NEXT_GROUP_START = 0x1;
export const PROTOCOL = "moqt-18";

// MoQT's variable-length integers (vi64, draft 18 section "Variable-Length
// Integers"): the count of leading 1 bits in the first byte is the count
// of bytes after it (up to 8; then all 64 bits follow), the rest of the
// bits are the value, most significant first. Values here stay below
// 2^53 (Number).
function vi64Len(v) {
  let n = 1;
  while (n < 8 && v >= 2 ** (7 * n)) n++;
  return n === 8 && v >= 2 ** 56 ? 9 : n;
}

// Serializes vi64s, 16-bit lengths and bytes.
class Writer {
  constructor() { this.parts = []; this.length = 0; }
  bytes(b) { this.parts.push(b); this.length += b.length; return this; }
  varint(v) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint ${v}`);
    const n = vi64Len(v);
    const b = new Uint8Array(n);
    let x = BigInt(v);
    for (let i = n - 1; i > 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
    b[0] = n === 9 ? 0xff : ((0xff00 >> (n - 1)) & 0xff) | Number(x);
    return this.bytes(b);
  }
  u16(v) { return this.bytes(Uint8Array.of(v >> 8, v & 0xff)); }
  lp(b) { return this.varint(b.length).bytes(b); }
  done() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.length; }
    return out;
  }
}

// A control message: type, 16-bit length, payload.
function message(type, payload) {
  if (payload.length > 0xffff) throw new RangeError("control message too long");
  return new Writer().varint(type).u16(payload.length).bytes(payload).done();
}

// The length of the vi64 whose first byte is b.
function vi64Size(b) {
  let n = 1;
  while (n < 9 && b & (0x80 >> (n - 1))) n++;
  return n;
}

// The vi64 of n bytes at b[at].
function vi64At(b, at, n) {
  let v = BigInt(b[at] & (0xff >> n));
  for (let i = 1; i < n; i++) v = (v << 8n) | BigInt(b[at + i]);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`varint ${v} too large here`);
  return Number(v);
}

// Reads a WebTransport receive stream as the fields MoQT puts on it.
class Reader {
  constructor(stream) {
    this.reader = stream.getReader();
    this.buf = new Uint8Array(0);
    this.pos = 0;
  }

  // Whether n more bytes are buffered after reading what is needed;
  // false when the stream ends first.
  async fill(n) {
    while (this.buf.length - this.pos < n) {
      const { value, done } = await this.reader.read();
      if (done) return false;
      const rest = this.buf.subarray(this.pos);
      const next = new Uint8Array(rest.length + value.length);
      next.set(rest);
      next.set(value, rest.length);
      this.buf = next;
      this.pos = 0;
    }
    return true;
  }

  async need(n) {
    if (!(await this.fill(n))) throw new Error("stream ended inside a field");
  }

  // The next varint, or null where the stream ends cleanly instead.
  async varintOrEnd() {
    if (!(await this.fill(1))) return null;
    const n = vi64Size(this.buf[this.pos]);
    await this.need(n);
    const v = vi64At(this.buf, this.pos, n);
    this.pos += n;
    return v;
  }

  async varint() {
    const v = await this.varintOrEnd();
    if (v === null) throw new Error("stream ended inside a field");
    return v;
  }

  async u8() { await this.need(1); return this.buf[this.pos++]; }

  async u16() {
    await this.need(2);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  async bytes(n) {
    await this.need(n);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  // A control message: { type, payload } or null at a clean end.
  async message() {
    const type = await this.varintOrEnd();
    if (type === null) return null;
    const len = await this.u16();
    return { type, payload: await this.bytes(len) };
  }

  cancel(reason) { this.reader.cancel(reason).catch(() => {}); }
}

// Reads varints from a message payload.
class Fields {
  constructor(b) { this.b = b; this.pos = 0; }
  varint() {
    if (this.pos >= this.b.length) throw new Error("message too short");
    const n = vi64Size(this.b[this.pos]);
    if (this.pos + n > this.b.length) throw new Error("message too short");
    const v = vi64At(this.b, this.pos, n);
    this.pos += n;
    return v;
  }
  text() {
    const n = this.varint();
    const s = new TextDecoder().decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function subscribeMessage(requestId, namespace, track) {
  const enc = new TextEncoder();
  const w = new Writer().varint(requestId).varint(namespace.length);
  for (const field of namespace) w.lp(enc.encode(field));
  w.lp(enc.encode(track));
  const filter = new Writer().varint(FILTER_NEXT_GROUP_START).done();
  w.varint(1).varint(PARAM_SUBSCRIPTION_FILTER).lp(filter);
  return message(MSG_SUBSCRIBE, w.done());
}

function hexBytes(hex) {
  if (!/^([0-9a-fA-F]{2}){32}$/.test(hex)) throw new Error("the certificate hash must be 64 hex digits");
  return Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
}

// One subgroup stream (its type already read): objects go to onObject
// once the subscription's track alias is known.
async function readSubgroup(r, type, alias, onObject) {
  if ((type & 0x06) === 0x06 || type > 0x7f || (type & 0x90) !== 0x10)
    throw new Error(`stream type 0x${type.toString(16)} is not a subgroup`);
  const streamAlias = await r.varint();
  const group = await r.varint();
  const mode = (type & 0x06) >> 1;
  let subgroup = mode === 2 ? await r.varint() : 0;
  if (!(type & 0x20)) await r.u8(); // publisher priority
  if (streamAlias !== (await alias)) {
    r.cancel("unknown track alias");
    return;
  }
  let object = -1;
  for (;;) {
    const delta = await r.varintOrEnd();
    if (delta === null) return;
    if (object < 0 && mode === 1) subgroup = delta;
    object = object < 0 ? delta : object + delta + 1;
    if (type & 0x01) await r.bytes(await r.varint()); // properties
    const len = await r.varint();
    if (len === 0) {
      await r.varint(); // status: no payload to deliver
      continue;
    }
    onObject({ group, subgroup, object, payload: await r.bytes(len) });
  }
}

// Subscribes to `track` in `namespace` (an array of fields) at the relay
// `url` (https://HOST:PORT/PATH), whose certificate has SHA-256 `hash`
// (hex; WebTransport's serverCertificateHashes). Calls onObject for
// every object and onEvent(text) for session events; resolves when the
// session ends, with the reason. close() on the returned handle ends it.
export function subscribe({ url, hash, namespace, track, onObject, onEvent }) {
  const wt = new WebTransport(url, {
    serverCertificateHashes: [{ algorithm: "sha-256", value: hexBytes(hash) }],
    protocols: [PROTOCOL],
  });
  let aliasKnown;
  const alias = new Promise((ok) => { aliasKnown = ok; });
  let closing = false;
  const failed = (what) => (e) => {
    if (!closing) onEvent(`${what}: ${e.message ?? e}`);
  };

  const run = async () => {
    await wt.ready;
    onEvent(`connected (${wt.protocol || "no wt-protocol"})`);
    if (wt.protocol && wt.protocol !== PROTOCOL)
      throw new Error(`the relay chose ${wt.protocol}, not ${PROTOCOL}`);
    const control = (await wt.createUnidirectionalStream()).getWriter();
    await control.write(message(MSG_SETUP, new Uint8Array(0)));
    const request = await wt.createBidirectionalStream();
    await request.writable.getWriter().write(subscribeMessage(0, namespace, track));
    const incoming = (async () => {
      const streams = wt.incomingUnidirectionalStreams.getReader();
      for (;;) {
        const { value, done } = await streams.read();
        if (done) return;
        const r = new Reader(value);
        (async () => {
          const type = await r.varint();
          if (type === MSG_SETUP) {
            await r.bytes(await r.u16());
            for (let m; (m = await r.message()); )
              if (m.type === MSG_GOAWAY) onEvent("the relay is going away (GOAWAY)");
          } else {
            await readSubgroup(r, type, alias, onObject);
          }
        })().catch(failed("stream"));
      }
    })().catch(failed("incoming streams"));
    const responses = new Reader(request.readable);
    for (let m; (m = await responses.message()); ) {
      const f = new Fields(m.payload);
      if (m.type === MSG_SUBSCRIBE_OK) {
        aliasKnown(f.varint());
        onEvent(`subscribed to ${namespace.join("/")}/${track}`);
      } else if (m.type === MSG_REQUEST_ERROR) {
        const code = f.varint();
        f.varint(); // retry interval
        throw new Error(`SUBSCRIBE refused: error ${code} ${f.text()}`);
      } else if (m.type === MSG_PUBLISH_DONE) {
        const code = f.varint();
        f.varint(); // stream count
        const reason = f.text();
        onEvent(`the track ended (status ${code}${reason ? ", " + reason : ""})`);
      }
    }
    // Objects may still be on their way on data streams.
    await Promise.race([incoming, new Promise((ok) => setTimeout(ok, 2000))]);
    return "the relay ended the subscription";
  };
  const close = () => {
    closing = true;
    try {
      wt.close({ closeCode: 0, reason: "subscriber done" });
    } catch { /* already closed */ }
  };
  const ended = run().then(
    (why) => { close(); return why; },
    (e) => { close(); return String(e.message ?? e); });
  return { ended, close };
}
