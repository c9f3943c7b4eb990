"""The processor stage (``process``, and ``complete`` for the rest of a deferred one):
fetch a version, store and verify it, put it through the license gate, record its
build list and stage it for validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from app import audit
from app.fetch import ahead, handoff
from app.fetch.download import Failed, Fetched, download, from_entry
from app.fetch.errors import ChecksumMismatch, FetchError, UpstreamNotFound
from app.licenses import Verdict
from app.models import (
    LicenseFile,
    ModuleVersion,
    Request,
    RequestSource,
    RequestState,
    VersionState,
)
from app.pipeline.buildlist import BuildList
from app.pipeline.capture import Outcome, capture, get_version, recorded_version
from app.pipeline.gate import license_verdict
from app.pipeline.stages.base import PROCESSABLE, TransientError, awaited_versions
from app.pipeline.stages.buildlists import BuildLists
from app.store import StoreError

# Seconds a capture waits for a graph load ahead that is fetching its version's zip
# (app/fetch/ahead.py) before downloading it itself.
AHEAD_WAIT = 30.0


class Processing(BuildLists):
    """The ``process`` and ``complete`` stages."""

    def process(self, module: str, version: str, defer: bool = False,
                on_stored: Callable[[], None] | None = None, claimed: bool = False
                ) -> Outcome:
        """Fetch, store, gate and describe one version; enqueue what its build list lacks.

        With ``defer`` it stops once the bytes are stored, checksum-verified and through
        the license gate (``captured``) and queues the rest as a ``complete`` job: a
        GOPROXY miss answers then, with the build list and validation behind it.
        ``on_stored`` is called once the verified bytes are in the store, before the
        license gate: a ``.mod`` miss can be answered then (app/goproxy/early.py).
        ``claimed``: the caller moved the version to ``fetching`` already.
        """
        if not claimed and not self._claim(module, version,
                                           self._sources("process", PROCESSABLE),
                                           VersionState.fetching):
            if self.reclaim:
                self._resume_after_process(module, version)
            return Outcome(module, version, "skipped", "not waiting for processing")
        with self._workdir("process-") as workdir:
            fetched = (self._downloaded_ahead(workdir, module, version)
                       or download(self.settings, workdir, module, version))
            if isinstance(fetched, Failed):
                return self._fetch_failed(module, version, fetched.error)
            try:
                outcome = capture(self.services, fetched, VersionState.processing)
            except StoreError as exc:
                # A full or unreachable store: nothing was kept; try again later.
                reason = f"store: {exc}"
                self._set(module, version, VersionState.failed, reason)
                raise TransientError(reason) from exc
            for fields in outcome.drifts:
                self.notify("upstream_drift", **fields)
            if not outcome.ok:
                handoff.take(self.settings, module, version)
                self._finish(module, version, VersionState.failed, outcome.reason)
                return outcome
            handoff.captured(self.settings, module, version)
            if on_stored is not None:
                on_stored()
            # The names just recorded, unless an earlier capture's rows stand.
            names = fetched.report.licenses if outcome.status == "stored" else None
            self._license_gate(module, version, fetched.zip_path, names,
                               then=VersionState.captured if defer else None)
        if defer:
            self.dispatcher.enqueue("complete", module, version)
            self._unblock(module, version)  # stored is all its dependents' validation needs
            return outcome
        return self._describe_graph(module, version, outcome)

    def _downloaded_ahead(self, workdir: Path, module: str, version: str
                          ) -> Fetched | Failed | None:
        """The version as a graph load ahead of a client downloaded it (one go command
        for a whole build list: app/fetch/ahead.py), waiting while such a load on this
        host is still fetching it; None when none has it."""
        entry = ahead.find_entry(self.settings, module, version, AHEAD_WAIT)
        if entry is None:
            return None
        try:
            return from_entry(self.settings, workdir, entry)
        except OSError:
            return None  # the load ended meanwhile: download it ourselves

    def process_queued(self, module: str, version: str) -> Outcome:
        """A ``process`` job taken from a queue. A version someone waits for (its own open
        request) is processed whole; any other (a member of someone's build list, a seed)
        is only fetched, stored and gated (``captured``: all its dependents' validation
        needs) and its build list is left to a ``complete`` job in the crawl lane.

        Why: each member's own build list queues members of members, and in the urgent
        lane that recursion ran ahead of everything a waiting request still lacked. With 55
        big requests open, the workers ran 200 `complete` and 470 validations of such
        trees before the first job of a waiting request's big build list (corpus run of
        2026-12-04); the request ends when its version is published (models.vouched)."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            waited = row is not None and bool(awaited_versions(session, [row.id]))
        if waited:
            return self.process(module, version)
        lanes = getattr(self.dispatcher, "in_lane", None)
        crawl = type(self)(self.services, lanes(True), reclaim=self.reclaim) if lanes else self
        return crawl.process(module, version, defer=True)

    def complete(self, module: str, version: str) -> Outcome:
        """The rest of a deferred ``process``: build list, staging, validation queued."""
        if not self._claim(module, version, self._sources("complete", (VersionState.captured,)),
                           VersionState.processing):
            if self.reclaim:  # killed between staging it and queueing its validation?
                self._resume_after_process(module, version)
            return Outcome(module, version, "skipped", "not captured")
        return self._describe_graph(module, version, Outcome(module, version, "stored"))

    def _describe_graph(self, module: str, version: str, outcome: Outcome) -> Outcome:
        """Work out a gated version's build list, stage it and queue its validation.

        A version the license gate holds is staged at once: its tree is of no use to
        anyone (hashicorp/terraform@v1.6.0 cost minutes and 266 crawl jobs that way)."""
        with self.services.db.session() as session:
            held = recorded_version(session, module, version).redistributable is False
        tidy = self._asked_for((module, version))
        try:
            members = BuildList([]) if held else self._build_list(module, version, tidy=tidy)
        except FetchError as exc:
            if not exc.permanent:
                # The bytes are kept: a retry (or the workers' sweep) completes it from here.
                with self.services.db.session() as session:
                    row = recorded_version(session, module, version)
                    row.state = VersionState.captured
                    if row.redistributable:  # a held version keeps the gate's reason
                        row.reason = exc.reason
                raise TransientError(exc.reason) from exc
            self._finish(module, version, VersionState.rejected, f"build list: {exc.reason}")
            return Outcome(module, version, "rejected", exc.reason)
        self._record_build_list(module, version, members, tidied=tidy and not held)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.state = VersionState.staged
            served = bool(row.redistributable)
            row.reason = "" if served else row.reason
            reason = row.reason
            awaited = bool(awaited_versions(session, [row.id]))
            if not served:
                self._close_requests(session, row)
        if served and awaited:
            self._ask("validate", module, version)
        elif served:
            self.dispatcher.enqueue("validate", module, version)
        else:
            self.notify("request_rejected", module=module, query=version, reason=reason)
        self._unblock(module, version)
        return outcome

    def _resume_after_process(self, module: str, version: str) -> None:
        """A retried process or complete job found its version staged: the dead run may
        have been killed between staging it and queueing what follows, so queue that again
        (validation is queued once per version; a finished one is a no-op)."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None:
                return
            state = row.state
            follow = row.redistributable is True
        if state == VersionState.captured:
            self.dispatcher.enqueue("complete", module, version)
            return
        if state not in (VersionState.staged, VersionState.blocked):
            return
        if follow:
            self.dispatcher.enqueue("validate", module, version)
        self._unblock(module, version)

    def _fetch_failed(self, module: str, version: str, error: FetchError) -> Outcome:
        if isinstance(error, UpstreamNotFound):
            self._forget(module, version, error.reason)
            return Outcome(module, version, "not_found", error.reason)
        if isinstance(error, ChecksumMismatch):
            self.notify("checksum_mismatch", module=module, version=version, reason=error.reason)
        if not error.permanent:
            self._set(module, version, VersionState.failed, error.reason)
            raise TransientError(error.reason)
        self._finish(module, version, VersionState.rejected, error.reason)
        return Outcome(module, version, VersionState.rejected.value, error.reason)

    def _forget(self, module: str, version: str, reason: str) -> None:
        """No such version upstream: nothing to keep (not even the module's row when
        this was its only version), its requests end as rejected (a person's request
        for a package path names the module requested instead)."""
        ended = []
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None or row.state not in (VersionState.pending, VersionState.fetching):
                return
            asked = session.scalar(select(Request.id).where(
                Request.version_id == row.id, Request.source != RequestSource.miss).limit(1))
        if asked is not None:
            # A person asked (not the go command probing prefixes): worth an upstream look.
            reason = self._instead(module, version, reason)
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None or row.state not in (VersionState.pending, VersionState.fetching):
                return
            for req in session.scalars(select(Request).where(Request.version_id == row.id)):
                req.state, req.reason, req.is_open, req.version_id = (
                    RequestState.rejected, reason, False, None)
                ended.append(req.query)
                if req.source != RequestSource.miss:  # not the go command's probes
                    audit.add(session, audit.REQUEST_REJECTED, f"{module}@{req.query}",
                              f"request #{req.id}: {reason}")
            mod = row.module
            session.delete(row)
            session.flush()
            if not session.scalar(select(ModuleVersion.id)
                                  .where(ModuleVersion.module_id == mod.id).limit(1)):
                # Nothing of it exists upstream either (the go command probes every
                # prefix of a path): no module row, so no page that says "Insight 0".
                session.delete(mod)
        for query in ended:
            self.notify("request_rejected", module=module, query=query, reason=reason)
        self._unblock(module, version)  # what waited for it can now say why it cannot be

    def _license_gate(self, module: str, version: str, zip_path: Path,
                      names: list[str] | None = None,
                      then: VersionState | None = None) -> Verdict:
        """Classify the root license files; fail closed (no or unknown license: held).

        ``names``: the version's license files, when the caller knows them; ``then``: a
        state the version moves to with the verdict (one transaction: a capture a
        client waits for wrote four before, a third of its CPU SQLAlchemy's)."""
        if names is None:
            with self.services.db.session() as session:
                row = recorded_version(session, module, version)
                names = [lf.name for lf in row.license_files]
        verdict = license_verdict(self.settings, zip_path, module, version, names)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            found = {fl.name: fl.spdx_ids for fl in verdict.licenses}
            for lf in session.scalars(select(LicenseFile).where(LicenseFile.version_id == row.id)):
                lf.spdx_id = ",".join(found.get(lf.name, []))
            row.redistributable = verdict.redistributable
            row.reason = "" if verdict.redistributable else verdict.reason
            if then is not None:
                row.state = then
        return verdict
