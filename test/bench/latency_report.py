"""Report of the latency benchmark (test/bench/latency.sh).

Reads, for each case directory CRYPTO-MODE-SUBS, the packet-tap records of the
four points (origin egress, relay ingress, relay egress, subscriber
ingress) and the tools' JSON summaries, and prints per-packet one-way
delay, relay residence time, CPU per delivered packet copy, and the
fast/userspace ratios.

A stream is known by the first bytes of its data (its MoQT subgroup
header and what follows), which the relay forwards unchanged on both
paths; a packet's delay is that of the first byte of its STREAM frame:
from the origin packet that carried that byte to its arrival. Packets the
origin sent before the subscription was answered (SUBSCRIBE_OK at the
subscriber, fr-sub's JSON; the latest of the run's sessions) are the
joining group's head, forwarded from the relay's cache: their wait is the
join, reported apart (connect to SUBSCRIBE_OK), not the path's delay."""
import bisect
import csv
import json
import os
import sys

CASES = [(crypto, mode, n) for crypto in ("cleartext", "tls")
         for n in (1, 10) for mode in ("userspace", "fastpath")]


def records(path):
    """(time, conn, stream, offset, length, mark, head) per STREAM frame;
    a connection is known by its DCID (subscribers may share a port)."""
    with open(path) as f:
        for t, conn, _, _, stream, off, length, mark, head in csv.reader(f):
            yield (int(t), conn, int(stream), int(off), int(length),
                   int(mark), head)


def media(stream):
    return stream & 0x2  # unidirectional: subgroups


def heads(rows):
    """(conn, stream) -> the stream's first bytes."""
    return {(r[1], r[2]): r[6] for r in rows if r[3] == 0 and r[6]}


def index(rows):
    """head -> sorted [(offset, end, time)] of first transmissions."""
    hd, seen, idx = heads(rows), set(), {}
    for t, conn, st, off, ln, _, _ in rows:
        h = hd.get((conn, st))
        if not media(st) or not h or (conn, st, off) in seen:
            continue
        seen.add((conn, st, off))
        idx.setdefault(h, []).append((off, off + ln, t))
    for v in idx.values():
        v.sort()
    return idx


def sent_at(idx, h, off):
    """When the packet carrying byte `off` of stream `h` passed."""
    v = idx.get(h)
    if not v:
        return None
    i = bisect.bisect_right(v, (off, float("inf"), 0)) - 1
    return v[i][2] if i >= 0 and v[i][0] <= off < v[i][1] else None


def samples(rows, hd, src, since):
    """Delays (ns) of first transmissions in `rows` against index `src`,
    of packets `src` saw at `since` or later; and the counts of those
    without a packet in `src` and of those before `since`."""
    out, seen, unmatched, before = [], set(), 0, 0
    for t, conn, st, off, _, _, _ in rows:
        if not media(st) or (conn, st, off) in seen:
            continue
        seen.add((conn, st, off))
        h = hd.get((conn, st))
        t0 = sent_at(src, h, off) if h else None
        if t0 is None:
            unmatched += 1
        elif t0 < since:
            before += 1
        else:
            out.append(t - t0)
    return out, unmatched, before


def resent(rows):
    """Media STREAM frames the relay sent again (the same connection,
    stream and offset): retransmissions, lost packets' or PTO probes'."""
    seen, again = set(), 0
    for _, conn, st, off, _, _, _ in rows:
        if not media(st):
            continue
        if (conn, st, off) in seen:
            again += 1
        seen.add((conn, st, off))
    return again


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else float("nan")


def summary(v):
    return {"p50": pct(v, 50), "p90": pct(v, 90), "p99": pct(v, 99),
            "max": max(v) if v else float("nan"), "n": len(v)}


def case(d):
    o = list(records(os.path.join(d, "origin-egress.csv")))
    ri = list(records(os.path.join(d, "relay-ingress.csv")))
    re = list(records(os.path.join(d, "relay-egress.csv")))
    s = list(records(os.path.join(d, "sub-ingress.csv")))
    idx_o, idx_ri = index(o), index(ri)
    hd_re, hd_s = heads(re), heads(s)
    # A stream whose first packet the kernel sent has the same head on the
    # subscriber's side.
    hd_re_all = dict(hd_s)
    hd_re_all.update(hd_re)
    relay = json.load(open(os.path.join(d, "relay.json")))
    subs = json.load(open(os.path.join(d, "subs.json")))["sessions"]
    since = max(x["subscribed_ns"] for x in subs)
    delay, miss_d, before = samples(s, hd_s, idx_o, since)
    resid, miss_r, _ = samples(re, hd_re_all, idx_ri, since)
    ticks, hz = open(os.path.join(d, "machine_cpu")).read().split()
    copies = len(delay) + miss_d + before
    intact = all(not (x["objects_missing"] or x["objects_corrupt"]
                      or x["error"]) for x in subs)
    fp = relay.get("fastpath")
    share = None
    if fp and fp["kernel_copies"] + fp["userspace_copies"]:
        share = fp["kernel_copies"] / (fp["kernel_copies"]
                                       + fp["userspace_copies"])
    join = [x["subscribed_ns"] - x["connect_ns"] for x in subs]
    return {"delay": summary(delay), "resid": summary(resid),
            "unmatched": miss_d + miss_r, "copies": copies,
            "resent": resent(re),
            "before": before, "join": summary(join),
            # Serving only: loading and verifying the BPF programs at
            # start (a one-time ~0.2 s) is not per-copy work.
            "relay_cpu_us": 1e6 * (relay["cpu_seconds"]
                                   - relay["startup_cpu_seconds"])
                            / max(copies, 1),
            "machine_cpu_us": 1e6 * int(ticks) / int(hz) / max(copies, 1),
            "intact": intact, "share": share}


def us(ns):
    return ns / 1000.0


def main():
    base = sys.argv[1]
    ran = [c for c in CASES
           if os.path.isdir(os.path.join(base, "-".join(map(str, c))))]
    res = {c: case(os.path.join(base, "-".join(map(str, c)))) for c in ran}
    print()
    print("one-way delay per packet, origin egress -> subscriber ingress (us)")
    print("and relay residence, relay ingress -> relay egress (us)")
    hdr = (f"{'crypto':9} {'path':10} {'subs':>4} {'packets':>8} {'p50':>7} "
           f"{'p90':>7} "
           f"{'p99':>7} {'max':>7} | {'res p50':>7} {'p90':>7} {'p99':>7} "
           f"{'max':>7} | "
           f"{'relay cpu':>9} {'all cpu':>8} {'kernel':>6} | "
           f"{'join p50':>8} {'max':>6} | {'resent':>6}")
    print(hdr)
    print("-" * len(hdr))
    for c in ran:
        r, dl, rs = res[c], res[c]["delay"], res[c]["resid"]
        share = f"{100 * r['share']:.1f}%" if r["share"] is not None else "-"
        print(f"{c[0]:9} {c[1]:10} {c[2]:>4} {r['copies']:>8} "
              f"{us(dl['p50']):>7.1f} "
              f"{us(dl['p90']):>7.1f} {us(dl['p99']):>7.1f} "
              f"{us(dl['max']):>7.1f} | {us(rs['p50']):>7.1f} "
              f"{us(rs['p90']):>7.1f} {us(rs['p99']):>7.1f} "
              f"{us(rs['max']):>7.1f} | {r['relay_cpu_us']:>7.2f}us "
              f"{r['machine_cpu_us']:>6.2f}us {share:>6} | "
              f"{r['join']['p50'] / 1e6:>6.1f}ms "
              f"{r['join']['max'] / 1e6:>4.1f}ms | {r['resent']:>6}")
    print()
    print("fast path / userspace (below 1: the fast path is better)")
    for crypto, n in ((x, y) for x in ("cleartext", "tls") for y in (1, 10)):
        if (crypto, "fastpath", n) not in res or (crypto, "userspace",
                                                  n) not in res:
            continue
        f, u = res[(crypto, "fastpath", n)], res[(crypto, "userspace", n)]
        ratio = lambda a, b: a / b if b else float("nan")
        print(f"  {crypto:9} {n:>2} subscriber(s): delay p50 "
              f"{ratio(f['delay']['p50'], u['delay']['p50']):.2f} p99 "
              f"{ratio(f['delay']['p99'], u['delay']['p99']):.2f} max "
              f"{ratio(f['delay']['max'], u['delay']['max']):.2f}, residence "
              f"p50 {ratio(f['resid']['p50'], u['resid']['p50']):.2f} p99 "
              f"{ratio(f['resid']['p99'], u['resid']['p99']):.2f}, relay CPU "
              f"per copy {ratio(f['relay_cpu_us'], u['relay_cpu_us']):.2f}, "
              f"machine CPU per copy "
              f"{ratio(f['machine_cpu_us'], u['machine_cpu_us']):.2f}")
    bad = [c for c in ran if not res[c]["intact"]]
    unmatched = sum(res[c]["unmatched"] for c in ran)
    before = ", ".join(f"{'-'.join(map(str, c))} {res[c]['before']}"
                       for c in ran if res[c]["before"])
    print()
    print("relay CPU: the relay process (user + system) once started "
          "(loading the BPF programs\nexcluded); all CPU: every CPU of the "
          "machine (origin, relay, subscribers and softirq\nwork, where the "
          "fast path runs), per delivered packet copy.")
    print("resent: media STREAM frames the relay sent more than once "
          "(retransmissions and\nPTO probes).")
    if unmatched:
        print(f"{unmatched} tapped packets have no origin packet (FETCH "
              f"responses from the relay's cache) and are left out")
    print("join: a session's connect to its SUBSCRIBE_OK. Packets the "
          "origin sent before the\nrun's last SUBSCRIBE_OK (the joining "
          "group's head, from the relay's cache) are\ncounted as copies, "
          "not in the delay: " + (before or "none"))
    if bad:
        print(f"objects were missing or corrupt in: {bad}")
        sys.exit(1)


if __name__ == "__main__":
    main()
