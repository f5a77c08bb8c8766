#!/usr/bin/env python3
"""Prints, as JSON, what the fast-path maps of a running fr-relay hold per
subscriber slot, read with bpftool from the maps that process has open:

  slots          slots in fr_fp_slots (one per subscriber connection served)
  substreams     slots that own entries of fr_fp_substreams
  credit         slots that own entries of fr_fp_credit
  pools          slots whose stream-ID pool in fr_fp_pools is not empty
  tx             slots whose fr_fp_tx entry is not all zero
  fanout         every slot listed in fr_fp_track_slots
  rss_kib        the process's resident set

Usage: fp_state.py PID
"""
import glob
import json
import subprocess
import sys

# struct fr_fp_subscribers (bpf/fastpath_kern_user.h): count (u32),
# default_priority, 3 bytes of padding, down_alias (u64), then the slots.
SUBSCRIBERS_SLOTS_AT = 16


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def raw(entry, field):
    return bytes(int(b, 16) for b in entry[field])


def u32(b, off=0):
    return int.from_bytes(b[off:off + 4], "little")


def map_ids(pid):
    ids = set()
    for path in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            for line in open(path):
                if line.startswith("map_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def main():
    pid = int(sys.argv[1])
    maps = {}
    for mid in map_ids(pid):
        info = bpftool("map", "show", "id", str(mid))
        maps[info.get("name", "")] = mid
    # Names are cut to 15 characters by the kernel.
    def dump(prefix):
        for name, mid in maps.items():
            if name.startswith(prefix[:15]):
                return bpftool("map", "dump", "id", str(mid))
        raise SystemExit(f"fp_state.py: process {pid} holds no map {prefix}")

    state = {
        "slots": sorted(u32(raw(e, "key")) for e in dump("fr_fp_slots")),
        "substreams": sorted({u32(raw(e, "key"))
                              for e in dump("fr_fp_substreams")}),
        "credit": sorted({u32(raw(e, "key")) for e in dump("fr_fp_credit")}),
        "pools": sorted(u32(raw(e, "key")) for e in dump("fr_fp_pools")
                        if u32(raw(e, "value"), 0) != u32(raw(e, "value"), 4)),
        "tx": sorted(u32(raw(e, "key")) for e in dump("fr_fp_tx")
                     if any(raw(e, "value"))),
        "fanout": sorted({u32(v, SUBSCRIBERS_SLOTS_AT + 4 * i)
                          for e in dump("fr_fp_track_slots")
                          for v in [raw(e, "value")]
                          for i in range(u32(v, 0))}),
    }
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            state["rss_kib"] = int(line.split()[1])
    print(json.dumps(state))


main()
