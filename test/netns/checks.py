"""What the netns tests check in the tools' JSON reports, said once.

A test's inline check imports it (netns.sh puts this directory on
PYTHONPATH):

    from checks import load, sessions, delivery_problem, kernel_share
"""
import json


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


def copies_accounted(fp):
    """Each kernel copy is registered, stale, orphaned (its connection
    left before it was registered) or, at a connection still open,
    waiting."""
    return (fp["registered"] + fp["stale"] + fp["orphaned"]
            + fp["unregistered"] == fp["kernel_copies"])
