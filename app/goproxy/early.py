"""A cold ``.mod`` miss answered as soon as its go.mod is verified and stored.

Why: graph loading asks for one level of go.mod files, waits for them, then asks for
the next; a cold `go mod download all` of cobra v1.8.1 walks four such levels. Each
``.mod`` miss used to wait for the whole capture (download, store, rows, license
gate: 110-330 ms), while the go.mod alone was ready after the download. A go.mod is
served even for a version the license gate holds (graph loading reads it), so it
needs no verdict: the capture runs on in a thread of this process and the client
has its go.mod at once. ``.info`` and ``.zip`` still wait for the gate: their
answer for a held version is a 410.

Several requests for the same go.mod in this process share one capture; another
process waits on the capture's lock as before.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from app.goproxy.published import ServedFile
from app.store import ArtifactStore

# A capture that neither stores nor ends within this many seconds leaves its waiters
# to the usual path (the capture lock), which then waits for it.
WAIT_LIMIT = 900.0


class _Flight:
    """One capture running in a thread, and what its waiters get."""

    def __init__(self) -> None:
        self.ready = threading.Event()  # the go.mod is stored, or the capture ended
        self.mod: ServedFile | None = None
        self.error: BaseException | None = None


class EarlyMods:
    """The captures of ``.mod`` misses running in this process, one per version."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, str], _Flight] = {}

    def fetch(self, module: str, version: str,
              capture: Callable[[Callable[[], None]], object]) -> ServedFile | None:
        """The version's go.mod once stored by ``capture`` (run in a thread, given the
        callback to call then); None when the capture ended without storing it
        (then its outcome is in the database); its exception when it raised one."""
        key = (module, version)
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
                threading.Thread(target=self._run, args=(key, flight, capture),
                                 name=f"capture {module}@{version}", daemon=True).start()
        flight.ready.wait(WAIT_LIMIT)
        if flight.mod is not None:
            return flight.mod
        if flight.error is not None:
            raise flight.error
        return None

    def _run(self, key: tuple[str, str], flight: _Flight,
             capture: Callable[[Callable[[], None]], object]) -> None:
        def stored() -> None:
            flight.mod = self._read(*key)
            if flight.mod is not None:  # else the waiters wait for the end
                flight.ready.set()

        try:
            capture(stored)
        except BaseException as exc:  # handed to the waiters, who raise it
            flight.error = exc
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.ready.set()

    def _read(self, module: str, version: str) -> ServedFile | None:
        """The stored go.mod (the bytes Depot keeps, which a drift never replaces)."""
        try:
            body = self._store.read_bytes(module, version, "mod")
            path = self._store.local_path(module, version, "mod")
        except Exception:  # any store trouble: the waiter takes the slow path
            return None
        return ServedFile(hashlib.sha256(body).hexdigest(), len(body), body, path)
