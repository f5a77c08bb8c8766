#!/usr/bin/env python3
"""Records the UDP payloads of the IPv4 frames arriving on an interface.

    capture.py --iface IF --seconds S --out FILE [--max N]

Runs in the namespace of the interface (ip netns exec), as root: a raw
AF_PACKET socket sees every frame. Stops after S seconds or N payloads
(default 200000), whichever comes first; FILE holds each payload as a
4-byte big-endian length and the bytes (checks.py, media_in_clear, reads
it). Exits 0, or 2 on bad use.
"""
import argparse
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_HLEN = 14


def udp_payload(frame):
    """The UDP payload of an Ethernet/IPv4 frame, or None."""
    if len(frame) < ETH_HLEN + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[ETH_HLEN:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or len(ip) < ihl + 8:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    return ip[ihl + 8:total]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iface", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max", type=int, default=200000)
    args = ap.parse_args()
    if args.seconds <= 0 or args.max <= 0:
        ap.error("--seconds and --max must be positive")
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.htons(ETH_P_ALL))
    sock.bind((args.iface, 0))
    end = time.monotonic() + args.seconds
    n = 0
    with open(args.out, "wb") as out:
        while n < args.max:
            left = end - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                frame, addr = sock.recvfrom(65535)
            except socket.timeout:
                break
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            payload = udp_payload(frame)
            if payload:
                out.write(struct.pack("!I", len(payload)) + payload)
                n += 1
    print(f"capture: {n} UDP payloads on {args.iface}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
