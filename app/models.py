"""SQLAlchemy 2 models: what Depot knows about modules, versions and their bytes.

The store holds the bytes; these rows say which bytes exist, what they hash to,
what state each version is in and why, and what each version requires.
Schema changes go through Alembic (migrations/).
"""

from __future__ import annotations

import enum
import logging
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    select,
    text,
    true,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    aliased,
    mapped_column,
    relationship,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from app.gomod.patterns import sql_regex
from app.gomod.versions import is_pseudo as _is_pseudo
from app.redact import public, redact

_log = logging.getLogger("depot.models")


def utcnow() -> datetime:
    return datetime.now(UTC)


class PublicText(TypeDecorator[str]):
    """Text people read (a reason, a note), stored without the credentials of any URL in
    it and without the server's folders (app/redact.public): it is shown on pages, in
    the API and in webhooks. Here, so that every write, ORM or not, passes through it;
    the whole text goes to the log, with the request id of the work that wrote it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        if not isinstance(value, str):
            return value
        shown = public(value)
        if shown != value and (logged := redact(value)) != shown:
            _log.info("stored without the server's folders; in full: %s", logged)
        return shown


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always read back as an aware UTC datetime: PostgreSQL keeps the
    zone, SQLite hands back naive datetimes (Depot writes UTC). One type here instead of a
    naive-to-UTC conversion in every reader."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: object
                             ) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class VersionState(enum.Enum):
    """Where a module version is in its life (the pipeline's stages, in order).

    ``published`` is served by the GOPROXY, and so is a stored, redistributable member
    of a published version's build list, by its exact version (see vouched); ``rejected``
    and a staged version whose license is not redistributable are served as 410 with
    their reason (the latter's go.mod excepted: graph loading reads it); the others are
    not served at all (in fetch mode a captured version is, to whoever asks for it).
    """

    pending = "pending"  # wished for, waiting for a processor
    fetching = "fetching"  # the toolchain is downloading it
    processing = "processing"  # stored; license gate and build list being worked out
    # Stored, checksum-verified and through the license gate; its build list is worked
    # out by a `complete` job. A GOPROXY miss in fetch mode is answered from here.
    captured = "captured"
    staged = "staged"  # stored and described, waiting for validation (or held by the gate)
    validating = "validating"  # a clean-room consumer build through Depot is running
    blocked = "blocked"  # validation waits for a dependency (reason: needs X@v)
    published = "published"  # served and shown
    rejected = "rejected"  # permanently refused (reason says why)
    failed = "failed"  # a transient failure ended the last attempt
    validation_failed = "validation_failed"  # the consumer build failed (reason has go's output)


# States from which a version no longer moves by itself.
TERMINAL_STATES = frozenset(
    {
        VersionState.published,
        VersionState.rejected,
        VersionState.failed,
        VersionState.validation_failed,
    }
)
# The others, by value: work on the version is under way (the module page says "yet").
IN_PROGRESS = frozenset(s.value for s in VersionState if s not in TERMINAL_STATES)
# The terminal states of a version that did not make it through (the page's wording).
FAILED_STATES = frozenset({VersionState.failed.value, VersionState.validation_failed.value})


class ArtifactKind(enum.Enum):
    info = "info"
    mod = "mod"
    zip = "zip"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK, so SQLite and PostgreSQL migrate the same way.
    return Enum(cls, name=name, native_enum=False, length=24, validate_strings=True)


class Module(Base):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Zips the GOPROXY handed out (all versions); flushed in batches by the serving processes.
    downloads: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    versions: Mapped[list[ModuleVersion]] = relationship(back_populates="module")


def _pseudo_of(context: object) -> bool:
    """A new row's is_pseudo from its version string, whoever creates the row: one that
    fails before capture describes it (a pseudo-version in a build list) is no tag."""
    return _is_pseudo(context.get_current_parameters()["version"])  # type: ignore[attr-defined]


class ModuleVersion(Base):
    __tablename__ = "module_versions"
    __table_args__ = (
        UniqueConstraint("module_id", "version", name="uq_module_version"),
        Index("ix_module_versions_state", "state"),
        # Covers publication_mark(): a count and a max over the published, no row reads.
        Index("ix_module_versions_published", "state", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(255))
    state: Mapped[VersionState] = mapped_column(
        _enum(VersionState, "version_state"), default=VersionState.pending
    )
    # Why the version is in its state (rejection or failure reason); empty when fine.
    reason: Mapped[str] = mapped_column(PublicText, default="")
    # Commit time from the upstream .info.
    time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_pseudo: Mapped[bool] = mapped_column(Boolean, default=_pseudo_of)
    go_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    deprecated: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Root README file name inside the zip, if any.
    readme_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # What the clean-room build noticed without failing (code that does not compile
    # with the pinned toolchain), shown on the version's page.
    validation_note: Mapped[str] = mapped_column(PublicText, default="")
    # The license gate's verdict: None until evaluated; False keeps it in staging.
    redistributable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Its build list was worked out for someone who asked (tidied, where tidy could),
    # not the `go get` graph a crawled member gets (app/pipeline/buildlist.build_list).
    build_list_tidied: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Last state change: a version stuck in a working state for long was orphaned
    # by a killed worker and is picked up again.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    module: Mapped[Module] = relationship(back_populates="versions")
    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    license_files: Mapped[list[LicenseFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    retractions: Mapped[list[Retraction]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    build_list: Mapped[list[BuildListMember]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )

    @property
    def selected_members(self) -> list[BuildListMember]:
        """The build list of the contract's consumer: one version per path."""
        return [m for m in self.build_list if m.selected]


class Artifact(Base):
    """One stored file of a version (.info, .mod or .zip) and its fingerprints."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("version_id", "kind", name="uq_artifact_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    kind: Mapped[ArtifactKind] = mapped_column(_enum(ArtifactKind, "artifact_kind"))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # The go.sum hash: "h1:…" of the zip (module hash) or of go.mod; empty for .info.
    h1: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    version: Mapped[ModuleVersion] = relationship(back_populates="artifacts")


class GraphMod(Base):
    """The go.mod of a version that the go command reads while loading some build list
    without selecting it (graphs without pruning, go 1.16 and older, read the go.mod of
    every version any member requires).

    Depot serves it as ``@v/<version>.mod``, as the public proxy does, so a consumer
    whose only GOPROXY is Depot can load the graph; the version's zip is not held
    unless it is also a version of its own. The go command checked the bytes against
    the checksum database when the build list was computed.
    """

    __tablename__ = "graph_mods"
    __table_args__ = (UniqueConstraint("module_path", "version", name="uq_graph_mod"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_path: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    h1: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Requirement(Base):
    """An edge of the dependency graph: this version's go.mod requires path@version."""

    __tablename__ = "requirements"
    __table_args__ = (
        UniqueConstraint("version_id", "path", name="uq_requirement_path"),
        Index("ix_requirements_path", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(512))
    required_version: Mapped[str] = mapped_column(String(255))
    indirect: Mapped[bool] = mapped_column(Boolean, default=False)

    version: Mapped[ModuleVersion] = relationship(back_populates="requirements")


class LicenseFile(Base):
    """A license file found at the module root (classification comes later)."""

    __tablename__ = "license_files"
    __table_args__ = (UniqueConstraint("version_id", "name", name="uq_license_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    # The SPDX ids found in the file, comma-separated ("" when none was recognised).
    spdx_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    version: Mapped[ModuleVersion] = relationship(back_populates="license_files")


class RenderedContent(Base):
    """A version's README rendered once (sanitized HTML) and its synopsis (text), made
    off the request path by a ``render`` job at publication, or by the first view.

    Why: a README is anyone's text, and rendering it costs up to the bound of
    app/content/bounded.py; pages and search answers read this row instead.
    ``renderer``: the rendering code's revision (app/catalog/prepared.RENDERER); a row
    of an older one is made again.
    """

    __tablename__ = "rendered_contents"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    renderer: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class DownloadDay(Base):
    """Zips of one version of a module served on one day (UTC), for the module page's
    per-version counts and its 90-day chart; ``version`` "" when the sidecar's log
    counted a zip without saying which (Module.downloads keeps the all-time total)."""

    __tablename__ = "download_days"

    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"),
                                           primary_key=True)
    version: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class VersionDocs(Base):
    """Whether a version's package documentation was made (app/pkgdoc), and how: the
    build context the helper saw, or why there is none. One row per version; its
    packages are in ``package_docs``. ``renderer``: app/pkgdoc/kept.RENDERER's revision
    (a row of an older one is made again)."""

    __tablename__ = "version_docs"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="CASCADE"), primary_key=True)
    renderer: Mapped[int] = mapped_column(Integer)
    ready: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    goos: Mapped[str] = mapped_column(String(32), default="")
    goarch: Mapped[str] = mapped_column(String(32), default="")
    go_version: Mapped[str] = mapped_column(String(64), default="")
    packages: Mapped[int] = mapped_column(Integer, default=0)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PackageDoc(Base):
    """One package of a version: its facts for lists, and its documentation as the helper
    printed it (JSON), rendered by the page that shows it."""

    __tablename__ = "package_docs"
    __table_args__ = (UniqueConstraint("version_id", "subpath", name="uq_package_doc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    subpath: Mapped[str] = mapped_column(String(1024))  # "" for the module's root package
    import_path: Mapped[str] = mapped_column(String(1536))
    name: Mapped[str] = mapped_column(String(255))
    synopsis: Mapped[str] = mapped_column(Text, default="")
    command: Mapped[bool] = mapped_column(Boolean, default=False)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)


class PackageImport(Base):
    """A package of a version imports ``imported`` (standard library included): the
    Imports list of its page and, read the other way, the Imported-by list of others."""

    __tablename__ = "package_imports"
    __table_args__ = (Index("ix_package_imports_imported", "imported"),
                      Index("ix_package_imports_version", "version_id", "importer"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    importer: Mapped[str] = mapped_column(String(1536))
    imported: Mapped[str] = mapped_column(String(1536))


class Retraction(Base):
    """A `retract` directive of this version's go.mod (applies to the module)."""

    __tablename__ = "retractions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    low: Mapped[str] = mapped_column(String(255))
    high: Mapped[str] = mapped_column(String(255))
    rationale: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[ModuleVersion] = relationship(back_populates="retractions")


class DriftKind(enum.Enum):
    """What a drift row is about: one file the upstream now serves differently, or the
    upstream no longer having the version at all (a deleted repository or tag)."""

    info = "info"
    mod = "mod"
    zip = "zip"
    gone = "gone"


class Drift(Base):
    """The upstream offered different bytes for a version Depot already holds (or no
    longer has it: kind ``gone``).

    Depot keeps serving what it captured first; this row is the evidence.
    """

    __tablename__ = "drifts"
    __table_args__ = (Index("ix_drifts_module_version", "module_path", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_path: Mapped[str] = mapped_column(String(512))
    version: Mapped[str] = mapped_column(String(255))
    kind: Mapped[DriftKind] = mapped_column(_enum(DriftKind, "drift_kind"))
    stored_sha256: Mapped[str] = mapped_column(String(64))
    # Empty when the upstream no longer serves the file (``gone``) or the go command
    # refused its bytes before they could be hashed.
    upstream_sha256: Mapped[str] = mapped_column(String(64))
    # The go.sum hashes ("h1:…") of .mod and .zip, both sides; empty where none applies.
    stored_h1: Mapped[str] = mapped_column(String(64), default="", server_default="")
    upstream_h1: Mapped[str] = mapped_column(String(64), default="", server_default="")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DriftOutcome(enum.Enum):
    """What one look at the upstream found for a version Depot serves."""

    same = "same"  # the upstream serves the bytes Depot captured
    differs = "differs"  # other bytes (a moved tag), or the checksum database refused them
    gone = "gone"  # the upstream answers 404/410: deleted repository or tag
    error = "error"  # the upstream could not be asked (transient, not drift)


class DriftCheck(Base):
    """One comparison of a published version with its upstream (sweep or on demand).

    Kept for every check, so the page can say when a module was last looked at and
    the sweep can pick the versions looked at least recently.
    """

    __tablename__ = "drift_checks"
    __table_args__ = (Index("ix_drift_checks_version", "version_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[DriftOutcome] = mapped_column(_enum(DriftOutcome, "drift_outcome"))
    # Which files differ (or the go command's / the upstream's words), for people.
    detail: Mapped[str] = mapped_column(PublicText, default="")
    # Who asked: "sweep", "cli", "api" or "portal".
    trigger: Mapped[str] = mapped_column(String(16), default="sweep")


class BuildListMember(Base):
    """One module of a version's build list, as the toolchain resolved it.

    The validator needs all of them in Depot; a request shows them as the
    dependency versions it pulled in. ``selected``: in the graph of the contract's
    consumer (one version per path); the others are versions ordinary consumers
    select instead (`go get` alone, or a consumer of the root package only, tidied:
    app/pipeline/buildlist.py), stored and vouched for the same way.
    """

    __tablename__ = "build_list_members"
    __table_args__ = (
        UniqueConstraint("version_id", "path", "member_version", name="uq_build_list_member"),
        Index("ix_build_list_member", "path", "member_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("module_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(512))
    member_version: Mapped[str] = mapped_column(String(255))
    selected: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    version: Mapped[ModuleVersion] = relationship(back_populates="build_list")


# Stored, not yet published nor refused: what vouched serves, once the license gate said
# redistributable (``processing`` too: a member's build list is worked out after its
# dependents may have published; before the gate its redistributable is still unknown).
VOUCHABLE = (VersionState.processing, VersionState.captured, VersionState.staged,
             VersionState.validating, VersionState.blocked)

# Captured (downloaded, checksum-verified, stored, through the license gate) but not
# yet published: served in fetch mode only, to the clients whose misses brought them.
PROVISIONAL = (VersionState.captured, VersionState.staged, VersionState.validating,
               VersionState.blocked, VersionState.validation_failed)

# No capture has stored and gated it yet, or the last one failed: in fetch mode a zip a
# graph load verified may be answered before its capture (app/goproxy/ahead.py).
UNCAPTURED = (VersionState.pending, VersionState.fetching, VersionState.processing,
              VersionState.failed)


def is_held(state: VersionState, redistributable: bool | None) -> bool:
    """Stored and gated, and the license gate said Depot may not serve it. Not only
    ``staged``: a member stored for someone's build list stays ``captured`` until a crawl
    works out its own, and viper's request said published with nothing held while
    github.com/pascaldekloe/goe@v0.1.0 answered 410."""
    return redistributable is False and state in (
        VersionState.captured, VersionState.processing, VersionState.staged)


def vouched(session: Session, path: str, version: str) -> bool:
    """True when a published version's build list names ``path@version``.

    That version's clean room, through Depot alone, proved its consumers build with
    exactly these stored bytes, so they are served by exact version while the member's
    own validation (its own build list, often a tree of its own) goes on: a request then
    ends when its version is published, not an hour later when the last member of
    members is (k8s.io/client-go's trees, corpus runs of 2026-12-03).
    """
    publisher = aliased(ModuleVersion)
    found = session.scalar(
        select(BuildListMember.id)
        .join(publisher, publisher.id == BuildListMember.version_id)
        .where(BuildListMember.path == path, BuildListMember.member_version == version,
               publisher.state == VersionState.published)
        .limit(1))
    return found is not None


def vouched_by(session: Session, path: str, version: str) -> tuple[str, str] | None:
    """(module path, version) of a published version whose build list names
    ``path@version`` (the first by path), or None: what a page names (:func:`vouched`
    answers the GOPROXY's yes or no without the sort)."""
    publisher = aliased(ModuleVersion)
    found = session.execute(
        select(Module.path, publisher.version)
        .select_from(BuildListMember)
        .join(publisher, publisher.id == BuildListMember.version_id)
        .join(Module, Module.id == publisher.module_id)
        .where(BuildListMember.path == path, BuildListMember.member_version == version,
               publisher.state == VersionState.published)
        .order_by(Module.path, publisher.version)
        .limit(1)).first()
    return None if found is None else (found[0], found[1])


class RequestSource(enum.Enum):
    api = "api"  # the request button / POST /api/v1/requests
    miss = "miss"  # a GOPROXY miss with DEPOT_ON_MISS=enqueue
    seed = "seed"  # `flask --app app discover --from-file`
    cli = "cli"  # `flask --app app ingest`


class RequestState(enum.Enum):
    """A request's own state, before its version is known (then the version's counts)."""

    queued = "queued"
    resolved = "resolved"  # the version is known; its state tells the rest
    rejected = "rejected"
    failed = "failed"


class Request(Base):
    """A wish for ``module@query``; open requests for the same wish are one row."""

    __tablename__ = "requests"
    __table_args__ = (
        Index(
            "uq_open_request",
            "module",
            "query",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
        # Plain indexes for the look-ups (SQLite cannot match `is_open = 1` to the partial one).
        Index("ix_requests_wish", "module", "query"),
        Index("ix_requests_version", "version_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module: Mapped[str] = mapped_column(String(512))
    query: Mapped[str] = mapped_column(String(255))
    source: Mapped[RequestSource] = mapped_column(_enum(RequestSource, "request_source"))
    state: Mapped[RequestState] = mapped_column(
        _enum(RequestState, "request_state"), default=RequestState.queued
    )
    reason: Mapped[str] = mapped_column(PublicText, default="")
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("module_versions.id", ondelete="SET NULL"), nullable=True
    )
    # Open while the wish is still being worked on; one open row per wish.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    version: Mapped[ModuleVersion | None] = relationship()


class Deployment(Base):
    """A deployment window marked by `flask --app app deploy start|end`.

    While one is open (and younger than the notifier's safety cap) non-critical
    notifications stay quiet, so a redeploy is not reported as an incident.
    """

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # None while the deployment is in progress.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Free text from `deploy start --note` (release name, ticket, who).
    note: Mapped[str] = mapped_column(PublicText, default="")


class ApiToken(Base):
    """A token someone authenticates with (HTTP Basic password or Bearer). Only its
    SHA-256 is kept: a token is shown once, at creation (app/auth/tokens.py)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, to tell tokens apart in a list: not a secret.
    hint: Mapped[str] = mapped_column(String(16))
    # Comma-separated groups of its holder (DEPOT_PATH_RULES); empty: none.
    groups: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEvent(Base):
    """One thing someone (or the pipeline) did that an operator may have to answer for
    later: a request, a publication, a refusal, a drift check, a token change, an
    operator's command (app/audit.py). Written once, never changed; the workers delete
    rows older than DEPOT_AUDIT_RETENTION_DAYS."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A token's name, "anonymous", "depot" (the pipeline) or "cli:<user>".
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    # module@version, a module, a token's name, a command: what it was done to.
    target: Mapped[str] = mapped_column(String(600), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    # The client's address for a web request, "cli" or "worker".
    source: Mapped[str] = mapped_column(String(100), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")


# Hiding private modules from a caller who may not see them (app/hidden.py): every ORM
# query of a session opened for such a caller gets these criteria, on each table that
# names a module (by id, by one of its versions, or by path), joins and aliases included.
# The subqueries are written on the tables, not the classes, so that the criteria do
# not apply to themselves.
_MODULES = Module.__table__
_VERSIONS = ModuleVersion.__table__
_BY_VERSION = (Artifact, Requirement, LicenseFile, RenderedContent, VersionDocs, PackageDoc,
               PackageImport, Retraction, DriftCheck, BuildListMember)
_BY_MODULE_PATH = (GraphMod, Drift)


def hidden_criteria(patterns: str) -> list:
    """``with_loader_criteria`` options that leave out every row of a module whose path
    falls under ``patterns`` (GOPRIVATE syntax)."""
    regex = sql_regex(patterns)
    if regex is None:
        return []
    hidden_modules = select(_MODULES.c.id).where(_MODULES.c.path.regexp_match(regex))
    hidden_versions = (select(_VERSIONS.c.id)
                       .join(_MODULES, _MODULES.c.id == _VERSIONS.c.module_id)
                       .where(_MODULES.c.path.regexp_match(regex)))
    options = [
        with_loader_criteria(Module, lambda cls: ~cls.path.regexp_match(regex),
                             include_aliases=True),
        with_loader_criteria(ModuleVersion, lambda cls: cls.module_id.not_in(hidden_modules),
                             include_aliases=True),
        with_loader_criteria(DownloadDay, lambda cls: cls.module_id.not_in(hidden_modules),
                             include_aliases=True),
    ]
    options += [with_loader_criteria(cls, lambda c: c.version_id.not_in(hidden_versions),
                                     include_aliases=True) for cls in _BY_VERSION]
    options += [with_loader_criteria(cls, lambda c: ~c.module_path.regexp_match(regex),
                                     include_aliases=True) for cls in _BY_MODULE_PATH]
    options.append(with_loader_criteria(Request, lambda c: ~c.module.regexp_match(regex),
                                        include_aliases=True))
    return options


@event.listens_for(Session, "do_orm_execute")
def _hide(state: ORMExecuteState) -> None:
    """Add :func:`hidden_criteria` to a query of a session opened for a caller from
    whom some paths are hidden (``session.info["hidden"]``, set by app/db.py)."""
    patterns = state.session.info.get("hidden")
    if patterns and state.is_select and not state.is_column_load \
            and not state.is_relationship_load:
        state.statement = state.statement.options(*hidden_criteria(patterns))
