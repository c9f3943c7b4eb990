"""Settings come from the environment only, with laptop defaults under DEPOT_DATA_DIR."""

from __future__ import annotations

import pytest

from app.config import (
    README,
    ConfigError,
    Settings,
    parse_webhooks,
    readme_with_table,
    table,
    toolchain_default,
)


def test_defaults_live_under_the_data_dir(tmp_path, go_bin):
    s = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": go_bin})
    assert s.database_url == f"sqlite:///{tmp_path / 'depot.sqlite3'}"
    assert s.store_url == (tmp_path / "store").as_uri()
    assert s.port == 8080 and s.host == "127.0.0.1" and s.on_miss == "fetch"
    assert s.catalog_refresh == 1.0
    # upstream and checksum database are the toolchain's own defaults, never written here
    assert s.upstream == toolchain_default(go_bin, "GOPROXY") and s.upstream
    assert s.gosumdb == toolchain_default(go_bin, "GOSUMDB") and s.gosumdb != "off"


def test_two_instances_do_not_meet(tmp_path, go_bin):
    a = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "a"), "DEPOT_GO": go_bin,
                           "DEPOT_PORT": "8081"})
    b = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "b"), "DEPOT_GO": go_bin,
                           "DEPOT_PORT": "8082"})
    assert a.database_url != b.database_url and a.store_url != b.store_url and a.port != b.port


@pytest.mark.parametrize(
    ("env", "message"),
    [({"DEPOT_ON_MISS": "maybe"}, "DEPOT_ON_MISS"), ({"DEPOT_PORT": "http"}, "DEPOT_PORT"),
     ({"DEPOT_CATALOG_REFRESH": "soon"}, "DEPOT_CATALOG_REFRESH"),
     ({"DEPOT_CATALOG_REFRESH": "-1"}, "DEPOT_CATALOG_REFRESH"),
     ({"DEPOT_CATALOG_REFRESH": "nan"}, "DEPOT_CATALOG_REFRESH"),
     # Before, a bare float(): "soon" escaped as a ValueError that named nothing.
     ({"DEPOT_UPSTREAM_TIMEOUT": "soon"}, "DEPOT_UPSTREAM_TIMEOUT must be a number of seconds"),
     ({"DEPOT_UPSTREAM_TIMEOUT": "inf"}, "DEPOT_UPSTREAM_TIMEOUT must be 0 or more seconds"),
     ({"DEPOT_UPSTREAM_TIMEOUT": "0"}, "DEPOT_UPSTREAM_TIMEOUT must be more than 0 seconds"),
     # Before, accepted here and refused by the first backlog check.
     ({"DEPOT_BACKLOG_ALERT": "-1"}, "DEPOT_BACKLOG_ALERT must be at least 0"),
     ({"DEPOT_BACKLOG_ALERT": "1.5"}, "DEPOT_BACKLOG_ALERT must be a whole number"),
     # Before, accepted at start-up and refused by the first notify job.
     ({"DEPOT_NOTIFY_WEBHOOKS": "ftp://x.example/h"}, "DEPOT_NOTIFY_WEBHOOKS entry 1 is not"),
     ({"DEPOT_S3_PRESIGN_TTL": "0"}, "DEPOT_S3_PRESIGN_TTL must be at least 1"),
     ({"DEPOT_S3_ZIPS": "ftp"}, "DEPOT_S3_ZIPS must be one of stream, redirect"),
     ({"DEPOT_MAX_BODY": "10"}, "DEPOT_MAX_BODY must be at least 1024"),
     ({"DEPOT_WORKERS": "0"}, "DEPOT_WORKERS must be at least 1"),
     ({"DEPOT_PORT": "70000"}, "DEPOT_PORT must be at most 65535")],
)
def test_bad_settings_are_named(tmp_path, go_bin, env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": go_bin, **env})


def test_sumdb_name_and_url():
    s = Settings.from_env({"DEPOT_DATA_DIR": "/tmp/x", "DEPOT_GO": "go",
                           "DEPOT_UPSTREAM": "file:///u",
                           "DEPOT_GOSUMDB": "sum.example+abc+def https://sum.example/db/"})
    assert s.sumdb_name == "sum.example" and s.sumdb_url == "https://sum.example/db"
    assert Settings.from_env({"DEPOT_GO": "go", "DEPOT_UPSTREAM": "file:///u",
                              "DEPOT_GOSUMDB": "off"}).sumdb_off


def test_summary_masks_passwords(tmp_path, go_bin):
    s = Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": go_bin,
                           "DATABASE_URL": "postgresql://u:secret@db/depot"})
    assert "secret" not in str(s.summary())


def test_webhooks_parsed_once_deduplicated() -> None:
    assert parse_webhooks(" , ,") == ()
    assert parse_webhooks(
        " https://hooks.slack.com/services/T/B/x , http://127.0.0.1:9/h,,"
        "https://hooks.slack.com/services/T/B/x"
    ) == ("https://hooks.slack.com/services/T/B/x", "http://127.0.0.1:9/h")


@pytest.mark.parametrize(
    "value", ["ftp://example.com/hook", "hooks.slack.com/services/T/B/secret", "https://", "x"]
)
def test_webhooks_refuse_non_http_without_showing_them(tmp_path, value: str) -> None:
    with pytest.raises(ConfigError, match="DEPOT_NOTIFY_WEBHOOKS entry 2 is not an http") as exc:
        Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": "go",
                           "DEPOT_UPSTREAM": "file:///u", "DEPOT_GOSUMDB": "off",
                           "DEPOT_NOTIFY_WEBHOOKS": f"https://ok.example/a,{value}"})
    assert "secret" not in str(exc.value)


@pytest.mark.parametrize("value", ["http://[::1", "http://host:notaport/x"])
def test_webhooks_refuse_unparsable(value: str) -> None:
    with pytest.raises(ValueError, match="entry 1 is not a valid URL"):
        parse_webhooks(value)


def test_every_setting_round_trips_through_to_env(tmp_path, go_bin) -> None:
    """A child process given ``to_env()`` builds the very same settings (tests, workers)."""
    changed = {"DEPOT_DATA_DIR": str(tmp_path), "DEPOT_GO": go_bin,
               "DEPOT_UPSTREAM": "file:///u", "DEPOT_GOSUMDB": "off", "DEPOT_PORT": "9090",
               "DEPOT_UPSTREAM_TIMEOUT": "7.5", "DEPOT_BACKLOG_ALERT": "3",
               "DEPOT_NOTIFY_WEBHOOKS": "https://hooks.example/a", "DEPOT_LOG_FORMAT": "json",
               "DEPOT_S3_ZIPS": "redirect", "DEPOT_WORKERS": "3", "DEPOT_REVISION": "abc"}
    first = Settings.from_env(changed)
    again = Settings.from_env(first.to_env())
    assert again == first
    assert first.upstream_timeout == 7.5 and first.webhooks == ("https://hooks.example/a",)
    assert set(first.to_env()) <= {var.env for var in table().values()}


def test_the_readme_table_is_the_settings_table() -> None:
    """Rendered by scripts/render-settings; a setting added without it fails here."""
    text = README.read_text()
    assert readme_with_table(text) == text, "run scripts/render-settings"
    for var in table().values():
        assert f"| `{var.env}` |" in text


def test_nothing_else_reads_depot_settings_from_the_environment() -> None:
    """app/config.py is the only reader: a setting read elsewhere escapes the checks."""
    import re
    import subprocess

    names = "|".join(re.escape(var.env) for var in table().values())
    found = subprocess.run(
        ["git", "grep", "-nE", rf"(environ(\.get)?|getenv)\(?\[?['\"]({names})['\"]",
         "--", "app", "jobs", "gunicorn.conf.py"],
        cwd=README.parent, capture_output=True, text=True,
    ).stdout
    reads = [line for line in found.splitlines() if not re.search(r"\]\s*=[^=]", line)]
    assert reads == [], reads


def test_only_the_company_s_webhooks_hear_of_a_private_module() -> None:
    settings = Settings.from_env({
        "DEPOT_PRIVATE": "corp.example",
        "DEPOT_NOTIFY_WEBHOOKS": "https://chat.example/out",
        "DEPOT_PRIVATE_WEBHOOKS": "https://chat.corp.example/in,https://chat.example/out"})
    assert settings.webhooks_for("corp.example/lib") == (
        "https://chat.corp.example/in", "https://chat.example/out")  # listed as inside too
    assert settings.webhooks_for("example.com/lib") == (
        "https://chat.example/out", "https://chat.corp.example/in")
    assert settings.webhooks_for(None) == settings.webhooks_for("example.com/lib")
    alone = Settings.from_env({"DEPOT_PRIVATE": "corp.example",
                               "DEPOT_NOTIFY_WEBHOOKS": "https://chat.example/out"})
    assert alone.webhooks_for("corp.example/lib") == ()
