"""Settings come from the environment only, with laptop defaults under DEPOT_DATA_DIR."""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings, toolchain_default


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
     ({"DEPOT_CATALOG_REFRESH": "nan"}, "DEPOT_CATALOG_REFRESH")],
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
