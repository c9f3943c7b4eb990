"""A seeded generator of hostile GOPROXY request paths, for scenario 6's fuzzing.

Grammar-based, not random bytes: most cases must get past the first split so
they reach the escaping, version and store code. Each case is a raw request
path as a client would send it (percent-encodings left in).
"""

from __future__ import annotations

import random
from urllib.parse import quote

VALID = [
    "depot.test/chain/c/@v/list", "depot.test/chain/c/@v/v1.0.0.info",
    "depot.test/chain/c/@v/v1.0.0.mod", "depot.test/chain/c/@v/v1.0.0.zip",
    "depot.test/chain/c/@latest", "depot.test/!mixed!case/!lib/@v/v1.2.0.info",
    "depot.test/major/v2/@v/v2.1.0.mod", "depot.test/legacy/@v/v2.0.0+incompatible.zip",
    "depot.test/pseudo/@v/v0.0.0-20240102030405-abcdefabcdef.info",
    "sumdb/sum.golang.org/supported", "sumdb/sum.golang.org/lookup/depot.test/chain/c@v1.0.0",
    "sumdb/sum.golang.org/tile/8/0/000", "sumdb/sum.golang.org/latest",
]
ATOMS = [
    "", ".", "..", "...", "!", "!!", "!A", "!a", "!z", "!-", "A", "@", "@v", "@v@v", "@latest",
    "@latest@", "%2e%2e", "%2E", "%2f", "%2F", "%5c", "%00", "%0a", "%0d%0a", "%ff", "%c0%af",
    "%e2%80%ae", "%", "%%", "%zz", "\\", "~", "+", "+incompatible", "v1.0.0", "v1", "v0.0.0-",
    "v1.0.0-!r!c.1", "v99999999999999999999.0.0", "V1.0.0", "\u00e9", "\u202e", "\U0001f600",
    "\ufeff", "\x7f", " ", "\t", "con", "aux", "nul", "com1", ".git", "-", "_", "*", "?", "#",
    "'", '"', "<script>", "${x}", "{{7*7}}", ";", "|", "&", "=", "sumdb", "lookup", "tile",
    "list", ".info", ".mod", ".zip", ".ziplog", "/", "//",
]
TAILS = ["/@v/list", "/@latest", "/@v/", "/@v", "/@v/v1.0.0.info", "/@v/v1.0.0.mod",
         "/@v/v1.0.0.zip", "/@v/.info", "/@v/v1.0.0", "/@v/list/x", "/@v/v1.0.0.info/",
         "/@v/v1.0.0.exe", "/@v/@v/list", ""]


def _segment(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice("abcxyz!A%") * rng.choice([256, 1024, 5000])  # very long
    if roll < 0.15:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 8)))
    return "".join(rng.choice(ATOMS) for _ in range(rng.randrange(1, 4)))


def _mutate(rng: random.Random, path: str) -> str:
    """Small edits of a valid path: insert, delete, swap, duplicate or encode a piece."""
    chars = list(path)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(chars) + 1)
        if op == 0:
            chars.insert(i, rng.choice(ATOMS))
        elif op == 1 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op == 2 and chars:
            chars[min(i, len(chars) - 1)] = rng.choice(ATOMS)
        elif op == 3:
            chars.insert(i, "".join(chars[i:i + rng.randrange(1, 20)]))
        elif op == 4 and chars:
            j = min(i, len(chars) - 1)
            chars[j] = quote(chars[j], safe="")
        else:
            chars = list("".join(chars).upper() if rng.random() < 0.5 else "".join(chars) * 2)
    return "".join(chars)


def hostile_path(rng: random.Random) -> str:
    """One request path, starting with ``/``."""
    roll = rng.random()
    if roll < 0.45:
        return "/" + _mutate(rng, rng.choice(VALID))
    if roll < 0.9:
        parts = [_segment(rng) for _ in range(rng.randrange(1, 6))]
        return "/" + "/".join(parts) + rng.choice(TAILS)
    if roll < 0.95:
        return "/" + "/".join(rng.choice(ATOMS) for _ in range(rng.randrange(1, 40)))
    return "/" + "".join(chr(rng.randrange(0, 256)) for _ in range(rng.randrange(1, 200)))
