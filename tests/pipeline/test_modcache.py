"""The validator's reused module caches: one per concurrent validation, emptied past
DEPOT_VALIDATE_CACHE_MB, and really used by the clean room."""

from __future__ import annotations

from dataclasses import replace

from app.config import Settings
from app.models import RequestSource, VersionState
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.modcache import validation_cache, zip_bytes
from app.pipeline.requests import submit
from app.pipeline.stages import Pipeline
from app.resources import Services


def test_concurrent_validations_get_caches_of_their_own(settings: Settings) -> None:
    with validation_cache(settings) as first, validation_cache(settings) as second:
        assert first != second
    with validation_cache(settings) as again:
        assert again == first  # a free slot is taken again, so caches do not pile up


def _fake_zip(cache, size: int) -> None:  # type: ignore[no-untyped-def]
    folder = cache / "cache" / "download" / "depot.test" / "m" / "@v"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v1.0.0.zip").write_bytes(b"\0" * size)


def test_a_cache_past_its_limit_is_emptied_before_it_is_used(settings: Settings) -> None:
    small = replace(settings, validate_cache_mb=1)
    with validation_cache(small) as cache:
        _fake_zip(cache, 512 << 10)
    with validation_cache(small) as cache:
        assert zip_bytes(cache) == 512 << 10  # under the limit: kept
        _fake_zip(cache, 2 << 20)
    with validation_cache(small) as cache:
        assert zip_bytes(cache) == 0


def test_the_clean_room_fills_the_reused_cache(services: Services) -> None:
    """Validated once, the chain's modules are in a cache the next validation reuses."""
    dispatcher = InlineDispatcher(services)
    submit(services, dispatcher, "depot.test/chain/a", "v1.0.0", RequestSource.api)
    dispatcher.drain(Pipeline(services, dispatcher))
    with services.db.session() as session:
        assert get_version(session, "depot.test/chain/a", "v1.0.0").state == \
            VersionState.published
    with validation_cache(services.settings) as cache:
        cached = {p.name for p in (cache / "cache" / "download" / "depot.test" / "chain")
                  .iterdir()}
    assert {"a", "b", "c"} <= cached
