#!/usr/bin/env python3
"""Checks that lib/'s modules depend one way (docs/ARCHITECTURE.md).

    check_includes.py [ROOT]
    check_includes.py --self-test

The modules, lowest first: util, quic, splice, wt, moq, fastpath. A file of a
module may include its own module's headers, and of a lower module only
the headers that module offers to the ones above it: those not named
*_internal.h. The kernel/user headers of bpf/ (*_kern_user.h) belong to
the modules that talk to the BPF programs: splice and fastpath. Public
headers (include/fastrelay/) include only public and system headers
(<...>); the BPF programs only what is in bpf/ and the generated
vmlinux.h.

Crossings that are known and being removed are listed in KNOWN below with
the reason; each is reported, none fails the check. A new crossing fails
it, and so does a KNOWN entry that no longer occurs (remove it from the
list). Exits 0 when the tree keeps the rule, 1 when it does not, 2 on bad
use. --self-test checks the checker on small made-up trees.
"""
import io
import contextlib
import os
import re
import sys
import tempfile

MODULES = ["util", "quic", "splice", "wt", "moq", "fastpath"]
BPF_USERS = {"splice", "fastpath"}

# (including file, included file): why it is still here, while it is being
# removed. None is left: lib/splice uses lib/quic through conn_hooks.h,
# conn_view.h and hooked_stream.h alone.
KNOWN = {}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(rel):
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == "lib" and parts[1] in MODULES:
        return parts[1]
    return None


def crossing(rel, target):
    """Why including `target` from `rel` breaks the rule, or None."""
    mine = module_of(rel)
    if target.startswith("bpf/"):
        if target.endswith("_kern_user.h") and mine in BPF_USERS:
            return None
        return "only splice and fastpath use the BPF programs' headers"
    theirs = module_of(target)
    if theirs is None or theirs == mine:
        return None
    if MODULES.index(theirs) > MODULES.index(mine):
        return f"{mine} is below {theirs}: it may not depend on it"
    if os.path.basename(target).endswith("_internal.h"):
        return f"{target} is internal to {theirs}"
    return None


def quoted_includes(root, sub):
    """(file, line, included name) of every `#include "..."` in the .c and
    .h files of directory `sub` (relative to root)."""
    base = os.path.join(root, sub)
    if not os.path.isdir(base):
        return
    for name in sorted(os.listdir(base)):
        if not name.endswith((".c", ".h")):
            continue
        rel = f"{sub}/{name}"
        with open(os.path.join(base, name), encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m:
                    yield rel, lineno, m.group(1)


def outside_lib(root):
    """The public headers' and BPF programs' includes that break the rule:
    (file, line, why) for each."""
    for rel, lineno, target in quoted_includes(root, "include/fastrelay"):
        yield (rel, lineno, f'includes "{target}": a public header '
               "includes only <...> headers")
    for rel, lineno, target in quoted_includes(root, "bpf"):
        if target != "vmlinux.h" and (
                "/" in target or
                not os.path.exists(os.path.join(root, "bpf", target))):
            yield (rel, lineno, f'includes "{target}": a BPF program '
                   "includes only bpf/'s headers")


def check(root, known):
    """Reports the tree's crossings; returns the number of problems."""
    found, bad = set(), 0
    for mod in MODULES:
        for rel, lineno, name in quoted_includes(root, f"lib/{mod}"):
            target = os.path.relpath(
                os.path.normpath(os.path.join(root, "lib", mod, name)), root)
            why = crossing(rel, target)
            if why is None:
                continue
            found.add((rel, target))
            if (rel, target) in known:
                print(f"known: {rel}:{lineno} includes {target}: "
                      f"{known[(rel, target)]}")
            else:
                print(f"{rel}:{lineno}: includes {target}: {why}")
                bad += 1
    for rel, lineno, why in outside_lib(root):
        print(f"{rel}:{lineno}: {why}")
        bad += 1
    for rel, target in sorted(set(known) - found):
        print(f"{rel} no longer includes {target}: take it off KNOWN")
        bad += 1
    print(f"{len(found)} crossings, {len(found & set(known))} known, "
          f"{bad} problems")
    return bad


def self_test():
    """The checker passes a tree that keeps the rule and fails each way of
    breaking it."""
    base = {"lib/util/hmap.h": "", "lib/quic/quic_internal.h": "",
            "lib/quic/copy_class.h": "",
            "lib/quic/conn.c": '#include "../util/hmap.h"\n'
                               '#include "quic_internal.h"\n',
            "lib/moq/data.c": '#include "../quic/copy_class.h"\n',
            "lib/splice/splice.c": '#include "../../bpf/x_kern_user.h"\n',
            "bpf/x_kern_user.h": ""}
    cases = [
        ("keeps the rule", {}, {}, 0),
        ("upward", {"lib/quic/stream.c": '#include "../moq/m.h"\n'}, {}, 1),
        ("internal", {"lib/moq/c.c": '#include "../quic/quic_internal.h"'},
         {}, 1),
        ("bpf header", {"lib/moq/d.c": '#include "../../bpf/x_kern_user.h"'},
         {}, 1),
        ("known", {"lib/quic/stream.c": '#include "../moq/m.h"\n'},
         {("lib/quic/stream.c", "lib/moq/m.h"): "why"}, 0),
        ("stale known", {}, {("lib/quic/stream.c", "lib/moq/m.h"): "why"},
         1),
        ("public header", {"include/fastrelay/x.h": '#include "../../lib/'
                           'quic/quic_internal.h"'}, {}, 1),
        ("bpf program", {"bpf/p.bpf.c": '#include "../lib/util/hmap.h"'},
         {}, 1),
        ("bpf own header", {"bpf/p.bpf.c": '#include "vmlinux.h"\n'
                            '#include "x_kern_user.h"'}, {}, 0),
    ]
    failed = 0
    for name, extra, known, want in cases:
        with tempfile.TemporaryDirectory() as root:
            for mod in MODULES:
                os.makedirs(os.path.join(root, "lib", mod))
            os.makedirs(os.path.join(root, "include", "fastrelay"))
            os.makedirs(os.path.join(root, "bpf"))
            for rel, text in {**base, **extra}.items():
                with open(os.path.join(root, rel), "w") as f:
                    f.write(text)
            with contextlib.redirect_stdout(io.StringIO()):
                got = 1 if check(root, known) else 0
        print(f"{'ok' if got == want else 'FAIL'}: {name}")
        failed += got != want
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1] if len(argv) == 2 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    if not os.path.isdir(os.path.join(root, "lib")):
        print(f"check_includes: {root} has no lib/", file=sys.stderr)
        return 2
    return 1 if check(root, KNOWN) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
