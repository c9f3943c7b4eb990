"""Untrusted text rendered in a child process with a time and a memory bound.

Why: a README is anyone's text, and a renderer's worst case is the attacker's choice
(Python-Markdown took 16 s for 4,000 unmatched ``[`` and never finished 200,000, in
the web worker that had to answer the page and in the job that indexed it). The
renderer Depot uses now is linear-time by design, but "linear" over a megabyte of
nested lists is still seconds, so each render runs in a forked child: its CPU time and
address space are capped, the parent waits at most ``seconds``, and a child that is
too slow or too big is killed and the caller shows a plain-text fallback.
"""

from __future__ import annotations

import math
import os
import resource
import select
import signal
import time
from collections.abc import Callable

# What a render may take, unless the caller says otherwise.
SECONDS = 5.0
MEMORY = 512 * 2**20  # bytes of address space beyond what the process holds already


def _address_space() -> int:
    """Bytes of address space this process holds now (its VmSize)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def bounded(func: Callable[[str], str], text: str, seconds: float = SECONDS,
            memory: int = MEMORY) -> str | None:
    """``func(text)`` computed in a forked child under the bounds; None when it took
    longer than ``seconds``, needed more than ``memory`` or failed."""
    limit = _address_space() + memory
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's cleanups
        code = 1
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            cpu = math.ceil(seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            data = func(text).encode("utf-8", "surrogatepass")
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    late = False
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                late = True
                break
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if late:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    if late or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    return b"".join(chunks).decode("utf-8", "surrogatepass")
