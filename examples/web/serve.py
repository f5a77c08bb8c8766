#!/usr/bin/env python3
"""Serves the watch page (examples/web) to a browser on this machine.

The page plays an fr-origin video track from fr-relay over WebTransport.
Besides its files this server answers three questions the page cannot
answer itself:

  /config.json  where the relay is (--url), the SHA-256 of its
                certificate (--hash: what fr-relay --browser-cert
                printed), the namespace and track
  /clock        CLOCK_MONOTONIC now, the clock fr-origin stamps objects
                with, so the page can show their one-way delay (origin,
                relay and browser on one machine)
  /relay.json   the relay's statistics file (--relay-json: fr-relay's
                --json FILE, rewritten at every status interval), so the
                page can show the path the relay forwards on

It listens on loopback by default: browsers give http://127.0.0.1 pages
the secure context WebTransport needs.
"""
import argparse
import http.server
import json
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/watch.js": ("watch.js", "text/javascript"),
    "/moqt.js": ("moqt.js", "text/javascript"),
    "/media.js": ("media.js", "text/javascript"),
}


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="serve.py",
        description="Serve the libfastrelay watch page on this machine.")
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="ADDR:PORT",
                   help="where to serve the page (default 127.0.0.1:8080)")
    p.add_argument("--url", required=True,
                   help="the relay's WebTransport URL, https://ADDR:PORT/PATH "
                        "(fr-relay --webtransport PATH)")
    p.add_argument("--hash", required=True, metavar="HEX",
                   help="SHA-256 of the relay's certificate, 64 hex digits "
                        "(printed by fr-relay --browser-cert)")
    p.add_argument("--namespace", default="live",
                   help="track namespace, fields split by '/' (default live)")
    p.add_argument("--track", default="video", help="track name (default video)")
    p.add_argument("--relay-json", metavar="FILE",
                   help="fr-relay's --json FILE, to show its path and kernel share")
    a = p.parse_args(argv)
    m = re.fullmatch(r"(.+):(\d+)", a.listen)
    if not m or not 0 < int(m.group(2)) < 65536:
        p.error(f"--listen {a.listen}: want ADDR:PORT")
    a.addr = (m.group(1), int(m.group(2)))
    if not re.fullmatch(r"https://[^/\s]+/\S*", a.url):
        p.error(f"--url {a.url}: want https://ADDR:PORT/PATH")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", a.hash):
        p.error("--hash: want the 64 hex digits of a SHA-256")
    return a


def handler(args):
    config = json.dumps({"url": args.url, "hash": args.hash.lower(),
                         "namespace": args.namespace,
                         "track": args.track}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        # Keep-alive and no Nagle delay: /clock answers in a round trip.
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def reply(self, body, ctype, status=200):
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.send_header("cache-control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path in FILES:
                name, ctype = FILES[path]
                with open(os.path.join(HERE, name), "rb") as f:
                    self.reply(f.read(), ctype)
            elif path == "/config.json":
                self.reply(config, "application/json")
            elif path == "/clock":
                now = json.dumps({"monotonic_ns": time.monotonic_ns()})
                self.reply(now.encode(), "application/json")
            elif path == "/relay.json" and args.relay_json:
                try:
                    with open(args.relay_json, "rb") as f:
                        self.reply(f.read(), "application/json")
                except OSError:
                    self.reply(b"no relay statistics yet\n", "text/plain", 404)
            else:
                self.reply(b"not found\n", "text/plain", 404)

        def log_message(self, fmt, *a):
            if not fmt.startswith('"GET'):
                sys.stderr.write("serve.py: " + (fmt % a) + "\n")

    return Handler


def main(argv):
    args = parse_args(argv)
    if time.get_clock_info("monotonic").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        sys.exit("serve.py: this Python's monotonic clock is not CLOCK_MONOTONIC")
    try:
        server = http.server.ThreadingHTTPServer(args.addr, handler(args))
    except OSError as e:
        sys.exit(f"serve.py: cannot listen on {args.listen}: {e.strerror}")
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serve.py: watch page on http://{args.listen}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
