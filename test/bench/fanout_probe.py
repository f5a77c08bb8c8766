"""Readings for the fan-out benchmark (test/bench/fanout.sh).

  fanout_probe.py stats          keeps BPF run-time statistics on while it
                                 runs (BPF_ENABLE_STATS: they go off with
                                 the process, also when it is killed)
  fanout_probe.py sample PID UP DOWN [TOOL_PID...]
                                 prints one JSON reading: busy ticks of the
                                 machine, of each CPU, of process PID (the relay) and of
                                 the TOOL_PIDs together (origin and
                                 subscribers), the relay's resident memory,
                                 packet and byte counters of its
                                 interfaces UP (to the origin) and DOWN (to
                                 the subscribers), the run time of its tc
                                 programs (fr_upstream_ingress,
                                 fr_subscriber_egress); and where packets
                                 were dropped: the kernel's backlog
                                 (softnet, all CPUs) and UDP receive
                                 buffers in the namespaces of PID and
                                 the TOOL_PIDs."""
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

SYS_BPF = 321  # x86_64
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0
PROGRAMS = ("fr_upstream_ingress", "fr_subscriber_egress")


def hold_stats():
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint32 * 32)()
    attr[0] = BPF_STATS_RUN_TIME
    fd = libc.syscall(SYS_BPF, BPF_ENABLE_STATS, ctypes.byref(attr),
                      ctypes.sizeof(attr))
    if fd < 0:
        sys.exit("fanout_probe: BPF_ENABLE_STATS: "
                 + os.strerror(ctypes.get_errno()))
    print("stats on", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.monotonic() + 4 * 3600  # bounded, as every loop here
    while time.monotonic() < deadline:
        time.sleep(1)


def busy_ticks():
    """Busy ticks of the machine and of each CPU (user nice system irq
    softirq: what the latency benchmark counts too)."""
    machine, cpus = 0, []
    with open("/proc/stat") as f:
        for line in f:
            name, *v = line.split()
            if not name.startswith("cpu"):
                break
            busy = sum(int(v[i]) for i in (0, 1, 2, 5, 6))
            if name == "cpu":
                machine = busy
            else:
                cpus.append(busy)
    return machine, cpus


def process(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime stime
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return ticks, rss


def counters(pid, dev):
    """Packets and bytes through interface dev in pid's namespace."""
    with open(f"/proc/{pid}/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == dev:
                v = [int(x) for x in rest.split()]
                return {"rx_bytes": v[0], "rx_packets": v[1],
                        "tx_bytes": v[8], "tx_packets": v[9]}
    sys.exit(f"fanout_probe: no interface {dev} beside process {pid}")


def softnet_dropped():
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f)


def udp_errors(pids):
    """UDP receive-buffer errors, over the distinct namespaces of pids."""
    seen, total = set(), 0
    for pid in pids:
        ns = os.stat(f"/proc/{pid}/ns/net").st_ino
        if ns in seen:
            continue
        seen.add(ns)
        with open(f"/proc/{pid}/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        total += int(rows[1][rows[0].index("RcvbufErrors")])
    return total


def programs(pid):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], check=True,
                         capture_output=True, text=True).stdout
    runs = {name: {"run_time_ns": 0, "run_cnt": 0} for name in PROGRAMS}
    for p in json.loads(out):
        name = p.get("name", "")
        owners = {o.get("pid") for o in p.get("pids", [])}
        if name not in runs or (owners and pid not in owners):
            continue
        runs[name]["run_time_ns"] += p.get("run_time_ns", 0)
        runs[name]["run_cnt"] += p.get("run_cnt", 0)
    return runs


def sample(pid, up, down, tools):
    ticks, rss = process(pid)
    machine, cpus = busy_ticks()
    print(json.dumps({
        "tool_ticks": sum(process(t)[0] for t in tools),
        "time": time.monotonic(),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "machine_ticks": machine,
        "cpu_ticks": cpus,
        "relay_ticks": ticks,
        "relay_rss": rss,
        "up": counters(pid, up),
        "down": counters(pid, down),
        "programs": programs(pid),
        "softnet_dropped": softnet_dropped(),
        "udp_rcvbuf_errors": udp_errors([pid] + tools),
    }))


def main():
    if sys.argv[1:2] == ["stats"] and len(sys.argv) == 2:
        hold_stats()
    elif sys.argv[1:2] == ["sample"] and len(sys.argv) >= 5:
        sample(int(sys.argv[2]), sys.argv[3], sys.argv[4],
               [int(t) for t in sys.argv[5:]])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
