"""The shared test set-up ends what each test's apps started (tests/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from app.config import REPO_ROOT, Settings
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import start_server

# Two tests in file order: the second sees what the first one's teardown left.
INNER = '''
import threading

from app.config import Settings
from tests.conftest import make_app

SEEN = []


def counting_threads():
    return [t for t in threading.enumerate()
            if t.name == "download-counter" and t.is_alive()]


def test_an_app_counts_a_download(tmp_path):
    app = make_app(Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "data")}))
    counter = app.extensions["depot"].downloads
    counter.count("depot.test/x")
    SEEN.append(counter)
    assert counting_threads(), "counting started no thread"


def test_its_counter_stopped_with_the_test_that_made_it():
    assert counting_threads() == []
    assert not SEEN[0].running
'''


def test_each_tests_apps_stop_counting_downloads_at_its_end(tmp_path: Path) -> None:
    """Before, every test app's download counter ran on after its test, flushing every
    five seconds into databases dropped meanwhile: "could not record N downloads" at the
    end of test runs. Run in a pytest of its own, so that a test runs after the
    teardown of the one that made the app."""
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-p", "tests.conftest", "--basetemp", str(tmp_path / "inner"),
         "--rootdir", str(tmp_path), str(inner)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


def test_the_longest_files_named_first_exist() -> None:
    """A renamed slow file would quietly fall back to its place in collection order and
    could again run alone at the end of `make test`."""
    from tests.conftest import LONGEST_FIRST

    missing = [name for name in LONGEST_FIRST if not (REPO_ROOT / name).is_file()]
    assert missing == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_make_test_keeps_the_longest_first_order() -> None:
    """xdist reorders files by their number of tests unless told not to, which put the
    one-test chaos files last."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if "pytest -n" in x)
    assert "--dist loadfile" in line and "--no-loadscope-reorder" in line


def test_a_stopped_server_leaves_none_of_its_processes(settings: Settings,
                                                        tmp_path: Path) -> None:
    """A granian worker still starting when its master was stopped outlived it, orphaned
    (two found running for twenty minutes after a suite): stop() takes the server's
    whole process group."""
    upgrade(Services.from_settings(settings).db.engine)
    server = start_server(settings, tmp_path, workers=2)
    group = server.process.pid
    server.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()
                and _group_of(int(p.name)) == group]
        if not left:
            break
        time.sleep(0.1)
    assert left == []


def _group_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None  # a zombie holds nothing
    return int(stat.rsplit(")", 1)[1].split()[2])
