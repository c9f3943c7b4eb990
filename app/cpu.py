"""Work nobody waits for gives the CPU to work somebody does: lower priorities (nice(2)).

Why: on one host (`make run`, two cores here) a client walking a cold graph competes
with what Depot does behind it: the go command loading the graph ahead of the client,
the captures of what that load fetched, the pipeline worker's jobs (clean-room builds,
license scans). The client's own work (checking, hashing and unpacking every file it
gets) is what it waits on, so the rest runs below it and takes what the client leaves.
"""

from __future__ import annotations

import os
import threading

# How much lower than the web processes background work runs, and the floor (nice(2)).
BACKGROUND_NICENESS = 10
LOWEST = 19


def _lower(who: int, by: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, who,
                       min(os.getpriority(os.PRIO_PROCESS, who) + by, LOWEST))
    except OSError:  # not allowed here: it runs at the priority it had
        pass


def lower_process(pid: int, by: int = BACKGROUND_NICENESS) -> None:
    """Run process ``pid`` (not the children it started before) ``by`` lower."""
    _lower(pid, by)


def lower_this_thread(by: int = BACKGROUND_NICENESS) -> None:
    """Run the calling thread alone ``by`` lower (on Linux a priority is a thread's; the
    threads it starts inherit it). For threads that live for background work only:
    going back up needs a privilege a container seldom has."""
    _lower(threading.get_native_id(), by)


def lower_self_at_fork(by: int = BACKGROUND_NICENESS) -> None:
    """A ``preexec_fn`` body: the child runs ``by`` lower, and so does all it starts."""
    _lower(0, by)
