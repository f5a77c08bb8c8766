"""The shared netns checks (checks.py) catch what they say they catch."""
import unittest

import contextlib
import io
import os
import struct
import tempfile

from checks import (_splitmix64, copies_accounted, delivery_problem,
                    kernel_share, kernel_share_short, media_in_clear)

GOOD = {"objects_missing": 0, "objects_corrupt": 0, "objects_received": 10,
        "groups_skipped": 0, "error": None, "track_ended": True}


def session(**changes):
    return {**GOOD, **changes}


class DeliveryProblem(unittest.TestCase):
    def test_intact(self):
        self.assertIsNone(delivery_problem(GOOD, min_objects=10, ended=True))

    def test_always_checked(self):
        for bad in (session(objects_missing=1), session(objects_corrupt=2),
                    session(objects_received=9)):
            self.assertIsNotNone(
                delivery_problem(bad, min_objects=10, skips=False,
                                 errors=False))

    def test_optional(self):
        self.assertIsNotNone(delivery_problem(session(groups_skipped=1)))
        self.assertIsNone(delivery_problem(session(groups_skipped=1),
                                           skips=False))
        self.assertIsNotNone(delivery_problem(session(error="reset")))
        self.assertIsNone(delivery_problem(session(error="reset"),
                                           errors=False))
        self.assertIsNone(delivery_problem(session(track_ended=False)))
        self.assertIsNotNone(delivery_problem(session(track_ended=False),
                                              ended=True))


class FastPath(unittest.TestCase):
    def test_share(self):
        self.assertEqual(kernel_share({"kernel_copies": 3,
                                       "userspace_copies": 1}), 0.75)
        self.assertEqual(kernel_share({"kernel_copies": 0,
                                       "userspace_copies": 0}), 0)

    def test_share_short(self):
        fp = {"kernel_copies": 9, "userspace_copies": 1}
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertFalse(kernel_share_short("x", fp, 0.9))
            self.assertTrue(kernel_share_short("x", fp, 0.95))
        self.assertIn("x: kernel 9 / userspace 1 = 90.0 % kernel",
                      out.getvalue())
        self.assertIn("x: the kernel sent less than 95 % of the copies",
                      out.getvalue())

    def test_accounted(self):
        fp = {"kernel_copies": 10, "registered": 7, "stale": 1,
              "orphaned": 1, "unregistered": 1}
        self.assertTrue(copies_accounted(fp))
        self.assertFalse(copies_accounted({**fp, "registered": 6}))


class MediaInClear(unittest.TestCase):
    def capture(self, payloads):
        f = tempfile.NamedTemporaryFile(delete=False)
        self.addCleanup(os.unlink, f.name)
        for p in payloads:
            f.write(struct.pack("!I", len(p)) + p)
        f.close()
        return f.name

    def body(self, seq):
        state, a = _splitmix64(seq)
        _, b = _splitmix64(state)
        return struct.pack("<QQ", a, b)

    def test_found(self):
        path = self.capture([b"x" * 50 + self.body(7) + b"y" * 9,
                             self.body(300), self.body(300)])
        self.assertEqual(media_in_clear(path, 360), 2)

    def test_not_found(self):
        path = self.capture([os.urandom(1200) for _ in range(20)] +
                            [self.body(400)])
        self.assertEqual(media_in_clear(path, 360), 0)


if __name__ == "__main__":
    unittest.main()
