"""States read as English on pages (issue 22, point 7): "failed validation", not
"validation_failed" or "is failed validation"."""

from __future__ import annotations

from app.models import VersionState
from app.portal.templating import state_label


def test_version_and_request_states_are_words() -> None:
    assert state_label("validation_failed") == "failed validation"
    assert state_label(VersionState.validating) == "being validated"
    assert state_label("published") == "published"
    assert state_label("resolved") == "resolved"  # a request's own state
    assert state_label("some_new_state") == "some new state"
