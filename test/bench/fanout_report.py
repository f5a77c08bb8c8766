"""Report of the fan-out benchmark (test/bench/fanout.sh).

Reads the case directories MODE-N under the output directory (the
probe's readings before the subscribers came, at the start and the end
of the window, and the tools' JSON), prints a table, writes
results.json, and draws cpu.png and delay.png with gnuplot. How each
figure is taken: docs/SCALE.md."""
import glob
import json
import os
import statistics
import subprocess
import sys

MODES = ("userspace", "fastpath")
COSTS = ("machine_ns_per_copy", "relay_host_ns_per_copy", "relay_ns_per_copy")


def load(path):
    with open(path) as f:
        return json.load(f)


# Ethernet, IPv4 and UDP headers of a datagram on the wire: what the
# subscribers' side carried beyond UDP payload.
FRAME_OVERHEAD = 14 + 20 + 8


def window(d, n, relay_cpu, mhz):
    """Per-copy costs over the measured window of case directory d."""
    a, b = load(f"{d}/start.json"), load(f"{d}/end.json")
    before = load(f"{d}/before-subs.json")
    tck = a["clk_tck"]
    packets = b["up"]["rx_packets"] - a["up"]["rx_packets"]
    copies = packets * n
    per_copy = (lambda ticks: ticks / tck * 1e9 / copies if copies else None)
    sent = {k: b["down"][k] - a["down"][k] for k in b["down"]}
    down = {k: v / copies if copies else None for k, v in sent.items()}
    host_s = (b["cpu_ticks"][relay_cpu] - a["cpu_ticks"][relay_cpu]) / tck
    payload = sent["tx_bytes"] - FRAME_OVERHEAD * sent["tx_packets"]
    seconds = b["time"] - a["time"]
    run = {p: b["programs"][p]["run_time_ns"] - a["programs"][p]["run_time_ns"]
           for p in b["programs"]}
    return {
        "window_s": round(b["time"] - a["time"], 2),
        "upstream_packets": packets,
        "copies": copies,
        "machine_ns_per_copy": per_copy(b["machine_ticks"] - a["machine_ticks"]),
        "relay_ns_per_copy": per_copy(b["relay_ticks"] - a["relay_ticks"]),
        "relay_host_ns_per_copy": per_copy(
            b["cpu_ticks"][relay_cpu] - a["cpu_ticks"][relay_cpu]),
        "tools_ns_per_copy": per_copy(b["tool_ticks"] - a["tool_ticks"]),
        "kernel_ns_per_copy": {p: (t / copies if copies else None)
                               for p, t in run.items()},
        # What the subscribers' side of the relay carried per copy: sent
        # (media, and whatever else each path adds) and received (ACKs).
        "down_per_copy": down,
        "relay_bytes_per_subscriber":
            (b["relay_rss"] - before["relay_rss"]) / n,
        # The relay's CPU: how busy in the window, and its busy cycles
        # (time x nominal clock) per UDP payload byte sent to subscribers.
        "relay_host_busy": host_s / seconds if seconds > 0 else None,
        "cycles_per_byte": (host_s * mhz * 1e6 / payload
                            if mhz and payload > 0 else None),
        "softnet_dropped": b["softnet_dropped"] - a["softnet_dropped"],
        "udp_rcvbuf_errors": b["udp_rcvbuf_errors"] - a["udp_rcvbuf_errors"],
    }


def subscribers(d):
    """Objects and delay over every session of every fr-sub process."""
    sessions = []
    for path in sorted(glob.glob(f"{d}/subs*.json")):
        sessions += load(path)["sessions"]
    p50 = [s["delay_us"]["p50"] for s in sessions if s["objects_received"]]
    p99 = [s["delay_us"]["p99"] for s in sessions if s["objects_received"]]
    return {
        "sessions": len(sessions),
        "sessions_failed": sum(1 for s in sessions if s.get("error")),
        "objects_received": sum(s["objects_received"] for s in sessions),
        "objects_missing": sum(s["objects_missing"] for s in sessions),
        "objects_corrupt": sum(s["objects_corrupt"] for s in sessions),
        "delay_us": {
            "p50_median_session": statistics.median(p50) if p50 else None,
            "p99_median_session": statistics.median(p99) if p99 else None,
            "p99_worst_session": max(p99) if p99 else None,
            "max": max((s["delay_us"]["max"] for s in sessions), default=None),
        },
    }


def copies(path):
    """(kernel, userspace) copies from a relay status line, or None."""
    words = open(path).read().split()
    if "kernel" not in words:
        return None
    i = words.index("kernel")
    return int(words[i + 1]), int(words[i + 3])


def relay(d):
    r = load(f"{d}/relay.json")
    out = {"cpu_seconds": r.get("cpu_seconds")}
    a, b = copies(f"{d}/start.copies"), copies(f"{d}/end.copies")
    if a and b:
        k, u = b[0] - a[0], b[1] - a[1]
        out["kernel_share_window"] = k / (k + u) if k + u else None
    fp = r.get("fastpath")
    if fp:
        k, u = fp.get("kernel_copies", 0), fp.get("userspace_copies", 0)
        out["kernel_copies"] = k
        out["userspace_copies"] = u
        out["kernel_share"] = k / (k + u) if k + u else None
        out["held_datagrams"] = fp.get("held_datagrams")
        out["fallback"] = fp.get("fallback")
    return out


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, scale=1.0, digits=0):
    return "-" if v is None else f"{v / scale:.{digits}f}"


def plot(out, cases, commit, crypto):
    """cpu.png and delay.png: against subscribers, both paths."""
    for mode in MODES:
        rows = sorted((c for c in cases if c["mode"] == mode),
                      key=lambda c: c["subscribers"])
        with open(f"{out}/{mode}.dat", "w") as f:
            for c in rows:
                w, s = c["window"], c["subscribers_result"]["delay_us"]
                f.write("%d %s %s %s %s %s\n" % (
                    c["subscribers"], w["machine_ns_per_copy"] or "NaN",
                    w["relay_ns_per_copy"] or "NaN",
                    w["relay_host_ns_per_copy"] or "NaN",
                    s["p50_median_session"] or "NaN",
                    s["p99_median_session"] or "NaN"))
    script = f"""
set terminal pngcairo size 900,540 noenhanced
set logscale x
set key top left
set grid
set xlabel "subscribers"
set output "{out}/cpu.png"
set title "CPU per delivered copy ({crypto}, commit {commit})"
set ylabel "ns per copy"
plot "{out}/userspace.dat" u 1:2 w lp t "userspace, machine", \\
     "{out}/userspace.dat" u 1:4 w lp t "userspace, relay host", \\
     "{out}/userspace.dat" u 1:3 w lp t "userspace, relay process", \\
     "{out}/fastpath.dat" u 1:2 w lp t "fast path, machine", \\
     "{out}/fastpath.dat" u 1:4 w lp t "fast path, relay host", \\
     "{out}/fastpath.dat" u 1:3 w lp t "fast path, relay process"
set output "{out}/delay.png"
set title "Object delay, origin to subscriber (median session)"
set ylabel "microseconds"
set logscale y
plot "{out}/userspace.dat" u 1:5 w lp t "userspace p50", \\
     "{out}/userspace.dat" u 1:6 w lp t "userspace p99", \\
     "{out}/fastpath.dat" u 1:5 w lp t "fast path p50", \\
     "{out}/fastpath.dat" u 1:6 w lp t "fast path p99"
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    out = sys.argv[1]
    commit = open(f"{out}/commit").read().strip()
    crypto = open(f"{out}/crypto").read().strip()
    relay_cpu = int(open(f"{out}/relay-cpu").read())
    mhz_file = f"{out}/cpu-mhz"
    mhz = (float(open(mhz_file).read() or 0)
           if os.path.exists(mhz_file) else 0) or None
    cases = []
    for d in sorted(glob.glob(f"{out}/*-*/")):
        if not os.path.exists(f"{d}/case"):
            continue
        n, mode = open(f"{d}/case").read().split()
        n = int(n)
        cases.append({"mode": mode, "subscribers": n,
                      "window": window(d, n, relay_cpu, mhz),
                      "subscribers_result": subscribers(d),
                      "relay": relay(d)})
    cases.sort(key=lambda c: (c["subscribers"], MODES.index(c["mode"])))
    by = {(c["mode"], c["subscribers"]): c for c in cases}
    ratios = {}
    for (mode, n), c in by.items():
        u = by.get(("userspace", n))
        if mode == "fastpath" and u:
            ratios[n] = {
                k: ratio(c["window"][k], u["window"][k])
                for k in COSTS}
    growth = {}
    for mode in MODES:
        ns = sorted(n for m, n in by if m == mode)
        if len(ns) > 1:
            lo, hi = by[(mode, ns[0])]["window"], by[(mode, ns[-1])]["window"]
            growth[mode] = {
                "from": ns[0], "to": ns[-1],
                **{k: ratio(hi[k], lo[k])
                   for k in COSTS}}
    with open(f"{out}/results.json", "w") as f:
        json.dump({"commit": commit, "crypto": crypto, "cases": cases, "fast_over_userspace":
                   ratios, "growth": growth}, f, indent=1)

    print(f"fan-out benchmark, commit {commit}, {crypto}")
    print("ns per copy: machine, relay host (the relay's CPU: its process "
          "and its side's kernel work), relay process; kernel programs")
    print("subs path      |   machine    host   relay | kernel in   eg "
          "| KB/sub |  objects  missing corrupt | delay us p50 p99 max "
          "| kernel % in window")
    for c in cases:
        w, s, r = c["window"], c["subscribers_result"], c["relay"]
        k, dl = w["kernel_ns_per_copy"], s["delay_us"]
        share = r.get("kernel_share_window")
        print(f"{c['subscribers']:4} {c['mode']:9} | "
              + " ".join(f"{fmt(w[x]):>7}" for x in COSTS) + " | "
              f"{fmt(k.get('fr_upstream_ingress')):>6} "
              f"{fmt(k.get('fr_subscriber_egress')):>5} | "
              f"{fmt(w['relay_bytes_per_subscriber'], 1024):>6} | "
              f"{s['objects_received']:>8} {s['objects_missing']:>8} "
              f"{s['objects_corrupt']:>7} | "
              f"{fmt(dl['p50_median_session'])} {fmt(dl['p99_median_session'])} "
              f"{fmt(dl['max'])} | "
              f"{fmt(share, 0.01, 1) if 'kernel_share' in r else '-'} "
              f"({fmt(r.get('kernel_share'), 0.01, 1)} whole run)")
    print("to and from the subscribers per copy (packets and bytes sent, "
          "packets received): "
          + ", ".join(f"{c['subscribers']} {c['mode']} "
                      f"{fmt(d['tx_packets'], 1, 2)}/{fmt(d['tx_bytes'])}/"
                      f"{fmt(d['rx_packets'], 1, 2)}"
                      for c in cases
                      for d in [c['window']['down_per_copy']]))
    print("drops in the window (backlog, UDP receive buffers): "
          + ", ".join(f"{c['subscribers']} {c['mode']} "
                      f"{c['window']['softnet_dropped']}/"
                      f"{c['window']['udp_rcvbuf_errors']}" for c in cases))
    print("relay CPU busy in the window, and its cycles per UDP payload "
          f"byte sent to the subscribers (busy time x {fmt(mhz)} MHz "
          "nominal): "
          + ", ".join(f"{c['subscribers']} {c['mode']} "
                      f"{fmt(c['window']['relay_host_busy'], 0.01)} % "
                      f"{fmt(c['window']['cycles_per_byte'], 1, 1)}"
                      for c in cases))
    busiest = max((c for c in cases if c["mode"] == "userspace"
                   and c["window"]["relay_host_busy"] is not None),
                  key=lambda c: c["window"]["relay_host_busy"], default=None)
    if busiest:
        w = busiest["window"]
        state = ("saturated" if w["relay_host_busy"] >= 0.9 else
                 "not saturated")
        print(f"userspace path, its busiest case ({busiest['subscribers']} "
              f"subscribers, relay CPU {fmt(w['relay_host_busy'], 0.01)} % "
              f"busy, {state}): {fmt(w['cycles_per_byte'], 1, 1)} cycles "
              "per byte (moq-relay publishes 12.75)")
    for n, rr in sorted(ratios.items()):
        print(f"fast/userspace at {n}: "
              + ", ".join(f"{k.split('_ns')[0]} {fmt(rr[k], 1, 2)}x"
                          for k in COSTS))
    for mode, g in growth.items():
        print(f"{mode}: per-copy CPU from {g['from']} to {g['to']} "
              "subscribers: "
              + ", ".join(f"{k.split('_ns')[0]} {fmt(g[k], 1, 2)}x"
                          for k in COSTS))
    if cases:
        plot(out, cases, commit, crypto)
        print(f"plots: {out}/cpu.png {out}/delay.png")


if __name__ == "__main__":
    main()
