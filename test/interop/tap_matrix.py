#!/usr/bin/env python3
"""Reads the TAP output of each interop cell
(CELLS/<client>@<relay>@<draft>.tap),
prints the matrix, optionally writes it into docs/INTEROP.md and checks it.

A cell passes the check when every case its client ran passes, or fails
for a reason listed in KNOWN_GAPS, and the interop runner's six are among
them. A known gap that passes is pointed out, so that the list shrinks.
Exit: 0, 1 (a cell fails the check), 77 (a peer asked for is not
installed, with --check).
"""
import argparse
import datetime
import pathlib
import re
import subprocess
import sys

DRAFTS = (18, 19)

RUNNER_SIX = ["setup-only", "announce-only", "publish-namespace-done",
              "subscribe-error", "announce-subscribe",
              "subscribe-before-announce"]

# (client, relay, case) -> why it fails; the reason goes into the doc.
KNOWN_GAPS = {
    # Between two third-party peers: recorded, not ours to fix.
    ("aiomoqt", "moq-relay", "join"):
        "moq-relay refuses a FETCH spanning several groups (NOT_SUPPORTED)",
    ("aiomoqt", "moq-relay", "namespace-discovery"):
        "moq-relay sends no PUBLISH for the track (SUBSCRIBE_TRACKS); the "
        "client times out",
    ("aiomoqt", "moq-relay", "publish-track-only"):
        "moq-relay answers PUBLISH with NOT_SUPPORTED",
    ("aiomoqt", "moq-relay", "publish-track-subscribe"):
        "fails at times: moq-relay answers PUBLISH with NOT_SUPPORTED, and "
        "whether the SUBSCRIBE then finds a route (else 'unroutable') "
        "depends on timing",
    ("aiomoqt", "moq-relay", "rendezvous-timeout"):
        "moq-relay does not hold a SUBSCRIBE (RENDEZVOUS_TIMEOUT): "
        "DOES_NOT_EXIST at once",
}

# (client, relay, case) -> words its YAML message must hold when it
# passes: for cases where either outcome passes, the one we build for.
EXPECT_MESSAGE = {
    ("fr-interop", "fr-relay", "subscribe-before-announce"):
        "held the SUBSCRIBE",
}

# Media flows matrix.sh runs (CELLS/media-<name>.result: "pass|fail\tdetail").
MEDIA_TITLE = {
    "aiomoqt-pub-fr-relay-fr-sub":
        "aiomoqt moq-pub-bench → fr-relay → fr-sub",
    "fr-origin-fr-relay-aiomoqt-sub":
        "fr-origin → fr-relay → aiomoqt moq-sub-bench",
    "fr-origin-fr-relay-fastpath-aiomoqt-sub":
        "fr-origin → fr-relay --fastpath (kernel, tls) → aiomoqt "
        "moq-sub-bench",
    "fr-origin-moq-relay-fr-sub": "fr-origin → moq-relay → fr-sub",
    "fr-origin-moq-relay-fr-sub-webtransport":
        "fr-origin → moq-relay → fr-sub over WebTransport (https://)",
}

RELAY_TITLE = {"fr-relay": "fr-relay", "aiomoqt": "aiomoqt relay",
               "moq-relay": "moq-relay (moq-dev)"}
BEGIN = "<!-- matrix:begin"
END = "<!-- matrix:end -->"


def parse_tap(path):
    """Returns {case: (ok, message)} of one TAP stream (several TAP runs
    appended are fine: each case is named)."""
    results, last = {}, None
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"(ok|not ok) \d+ - (\S+)", line)
        if m:
            last = m.group(2)
            results[last] = (m.group(1) == "ok", "")
            continue
        m = re.match(r"\s+(message|received): (.*)", line)
        if m and last:
            text = m.group(2).strip().strip('"')
            if m.group(1) == "message" or not results[last][1]:
                results[last] = (results[last][0], text)
    return results


def cell_text(results):
    if not results:
        return "no result"
    six = sum(1 for c in RUNNER_SIX if results.get(c, (False,))[0])
    text = f"{six} of the runner's 6"
    if len(results) > len(RUNNER_SIX) or set(results) - set(RUNNER_SIX):
        ok = sum(1 for r in results.values() if r[0])
        text += f"; {ok} of {len(results)} cases in all"
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cells", type=pathlib.Path)
    ap.add_argument("--relays", required=True)
    ap.add_argument("--clients", required=True)
    ap.add_argument("--missing", default="")
    ap.add_argument("--versions", default="")
    ap.add_argument("--doc", type=pathlib.Path)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    relays, clients = a.relays.split(), a.clients.split()
    missing = set(a.missing.split())

    cells, failures, bad = {}, [], []
    for draft, client, relay in ((d, c, r) for d in DRAFTS for c in clients
                                 for r in relays):
        path = a.cells / f"{client}@{relay}@{draft}.tap"
        if client in missing or relay in missing or not path.exists():
            continue
        res = parse_tap(path)
        cells[client, relay, draft] = res
        where = f"{client} against {relay} (draft {draft})"
        for case, (ok, msg) in sorted(res.items()):
            gap = KNOWN_GAPS.get((client, relay, case))
            if ok and gap:
                print(f"{where}: {case} passes now: take it off KNOWN_GAPS")
            want = EXPECT_MESSAGE.get((client, relay, case))
            if ok and want and want not in msg:
                ok, msg = False, f"passed, but not by '{want}': {msg}"
            if ok:
                continue
            failures.append((client, relay, draft, case, gap or msg))
            if not gap:
                bad.append(f"{where}: {case}: {msg}")
        for case in RUNNER_SIX:
            if case not in res:
                bad.append(f"{where}: {case}: no result")

    media = []
    for name, title in MEDIA_TITLE.items():
        path = a.cells / f"media-{name}.result"
        if not path.exists():
            continue
        verdict, _, detail = path.read_text().strip().partition("\t")
        media.append((title, verdict == "pass", detail))
        if verdict != "pass":
            bad.append(f"media {title}: {detail}")

    tables = []
    for draft in DRAFTS:
        lines = [f"Draft {draft}:", "",
                 "| client ↓ / relay → | " +
                 " | ".join(RELAY_TITLE[r] for r in relays) + " |",
                 "|---|" + "---|" * len(relays)]
        for client in clients:
            row = []
            for relay in relays:
                if client in missing or relay in missing:
                    row.append("not installed")
                elif (client, relay, draft) in cells:
                    row.append(cell_text(cells[client, relay, draft]))
                else:
                    row.append(f"does not speak draft {draft}")
            lines.append(f"| {client} | " + " | ".join(row) + " |")
        tables.append("\n".join(lines))
    table = "\n\n".join(tables)
    print(table)
    for f in failures:
        print("failed: {} against {} (draft {}): {}: {}".format(*f))
    mtable = "\n".join(["| media | result | what arrived |", "|---|---|---|"] +
                       [f"| {t} | {'pass' if ok else 'FAIL'} | {d} |"
                        for t, ok, d in media])
    if media:
        print(mtable)

    if a.doc:
        commit = subprocess.run(["git", "-C", str(a.doc.parent), "rev-parse",
                                 "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
        body = [f"{BEGIN} (written by test/interop/matrix.sh -d) -->",
                f"Made on {datetime.date.today()} at commit {commit} by "
                "`test/interop/matrix.sh -d` (raw QUIC, in network "
                "namespaces)."]
        if a.versions:
            body.append(f"Peers: {a.versions}.")
        body += ["", table, ""]
        if media:
            body += [mtable, ""]
        if failures:
            body += ["Cases that fail, and why:", "",
                     "| client | relay | draft | case | why |",
                     "|---|---|---|---|---|"]
            body += ["| {} | {} | {} | {} | {} |".format(
                c, r, d, case, why.replace("|", "/"))
                for c, r, d, case, why in failures]
            body.append("")
        body.append(END)
        doc = a.doc.read_text()
        start, end = doc.find(BEGIN), doc.find(END)
        if start < 0 or end < start:
            sys.exit(f"{a.doc} has no matrix markers")
        a.doc.write_text(doc[:start] + "\n".join(body) +
                         doc[end + len(END):])

    for b in bad:
        print(f"FAILED: {b}")
    if a.check:
        if bad:
            return 1
        if missing:
            print("not installed: " + " ".join(sorted(missing)))
            return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
