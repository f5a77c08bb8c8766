"""What the netns tests check in the tools' JSON reports, said once.

A test's inline check imports it (netns.sh puts this directory on
PYTHONPATH):

    from checks import load, sessions, delivery_problem, kernel_share
"""
import json
import struct


def load(path):
    """A tool's --json report."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def sessions(path):
    """The sessions of an fr-sub --json report."""
    return load(path)["sessions"]


def delivery_problem(s, min_objects=1, skips=True, errors=True,
                     ended=False):
    """Why fr-sub session `s` did not get its objects intact, or None.

    Always: objects missing or corrupt, fewer than `min_objects`
    received. With `skips`, a skipped group; with `errors`, a session
    error; with `ended`, a track that did not end.
    """
    if s["objects_missing"]:
        return f"{s['objects_missing']} objects missing"
    if s["objects_corrupt"]:
        return f"{s['objects_corrupt']} objects corrupt"
    if s["objects_received"] < min_objects:
        return (f"{s['objects_received']} objects received, "
                f"fewer than {min_objects}")
    if skips and s["groups_skipped"]:
        return f"{s['groups_skipped']} groups skipped"
    if errors and s["error"]:
        return f"error: {s['error']}"
    if ended and not s["track_ended"]:
        return "the track never ended"
    return None


def failed_sessions(label, subs, **want):
    """Prints each session with a delivery problem (see
    delivery_problem for `want`); returns True if there was any."""
    bad = False
    for i, s in enumerate(subs):
        why = delivery_problem(s, **want)
        if why:
            print(f"{label}: session {i} failed ({why}): {s}")
            bad = True
    return bad


def kernel_share(fp):
    """The kernel's share of the media copies, from fr-relay's "fastpath"
    counters (0 when there were none)."""
    media = fp["kernel_copies"] + fp["userspace_copies"]
    return fp["kernel_copies"] / media if media else 0


def kernel_share_short(label, fp, floor):
    """Prints the kernel's share of the media copies; returns True (after
    saying so) when it is below `floor` (a fraction)."""
    share = kernel_share(fp)
    print(f"{label}: kernel {fp['kernel_copies']} / userspace "
          f"{fp['userspace_copies']} = {100 * share:.1f} % kernel")
    if share < floor:
        print(f"{label}: the kernel sent less than {100 * floor:.0f} % of "
              "the copies")
        return True
    return False


def copies_accounted(fp):
    """Each kernel copy is registered, stale, orphaned (its connection
    left before it was registered) or, at a connection still open,
    waiting."""
    return (fp["registered"] + fp["stale"] + fp["orphaned"]
            + fp["unregistered"] == fp["kernel_copies"])


def _splitmix64(state):
    """fr-origin's filler (examples/common/rng.h): (new state, output)."""
    mask = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & mask
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return state, z ^ (z >> 31)


def media_in_clear(path, max_seq):
    """How many synthetic object bodies of sequence 0..max_seq appear,
    readable as they are, in a capture.py file: the start of each body
    (the first 16 filler bytes after its 40-byte header, which
    frt_media_fill draws from splitmix64 seeded with the sequence)."""
    with open(path, "rb") as f:
        data = f.read()
    hits = 0
    for seq in range(max_seq + 1):
        state, a = _splitmix64(seq)
        _, b = _splitmix64(state)
        if data.find(struct.pack("<QQ", a, b)) >= 0:
            hits += 1
    return hits
