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


def _lower_group(pid: int | str, by: int) -> None:
    """Lower the scheduling group of ``pid``'s session (``/proc/PID/autogroup``).

    Why: with the kernel's autogroup scheduling on (a default of many distributions,
    and of this machine), a process's nice only orders it among the processes of its
    own session; sessions share the CPU as equals. The worker and a load's go command
    each lead a session of their own (so that a terminal's Ctrl-C does not reach
    them), and their nice of 10 then gave a client walking a graph beside them
    nothing: a cold walk of the upstream took 2.1 s instead of 1.3 s while the
    worker validated behind it (2026-12-06). Only for a session leader: another
    process shares its group with the rest of its session."""
    path = f"/proc/{pid}/autogroup"
    try:
        with open(path) as group:
            current = int(group.read().rsplit("nice", 1)[1])
        with open(path, "w") as group:
            group.write(str(min(current + by, LOWEST)))
    except (OSError, ValueError, IndexError):  # no autogroups here, or not allowed
        pass


def lower_process(pid: int, by: int = BACKGROUND_NICENESS) -> None:
    """Run process ``pid`` (not the children it started before) ``by`` lower, and its
    session's scheduling group when it leads a session of its own."""
    _lower(pid, by)
    try:
        leads = os.getsid(pid) == pid
    except OSError:
        return
    if leads:
        _lower_group(pid, by)


def lower_this_thread(by: int = BACKGROUND_NICENESS) -> None:
    """Run the calling thread alone ``by`` lower (on Linux a priority is a thread's; the
    threads it starts inherit it). For threads that live for background work only:
    going back up needs a privilege a container seldom has."""
    _lower(threading.get_native_id(), by)


def lower_self_at_fork(by: int = BACKGROUND_NICENESS) -> None:
    """A ``preexec_fn`` body: the child runs ``by`` lower, and so does all it starts
    (its session's scheduling group too, when it has just made a session of its own)."""
    _lower(0, by)
    if os.getsid(0) == os.getpid():
        _lower_group("self", by)
