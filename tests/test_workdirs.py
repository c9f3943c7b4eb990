"""Work folders are owned while in use, and only those of dead owners are leftovers
(app/workdirs.py); the killed jobs themselves are in tests/test_fsck.py and
tests/test_serve.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app.workdirs import OWNER, UNLOCKED_AGE, leftovers, work_folder

# A child that makes a work folder, says where, and waits to be killed.
_OWNER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from app.workdirs import work_folder\n"
    "with work_folder(Path(sys.argv[1]), 'process-') as path:\n"
    "    print(path, flush=True)\n"
    "    time.sleep(600)\n"
)


def _aged(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_folder_is_owned_while_in_use_and_gone_after(tmp_path: Path) -> None:
    root = tmp_path / "work"
    with work_folder(root, "process-") as path:
        assert path.parent == root and path.name.startswith("process-")
        assert (path / OWNER).is_file()
        (path / "modcache").mkdir()
        (path / "modcache" / "big.zip").write_bytes(b"x" * 1000)
        assert leftovers(root) == [] and leftovers(root, remove=True) == []
        assert path.exists()
    assert list(root.iterdir()) == []


def test_the_folder_of_a_killed_owner_is_a_leftover(tmp_path: Path) -> None:
    root = tmp_path / "work"
    child = subprocess.Popen([sys.executable, "-c", _OWNER, str(root)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        path = Path(child.stdout.readline().strip())
        assert path.is_dir() and leftovers(root) == []  # its owner lives
    finally:
        child.kill()
        child.wait(10)
    [left] = leftovers(root)
    assert left.name == path.name and not left.removed and path.exists()
    [left] = leftovers(root, remove=True)
    assert left.removed and not path.exists()


def test_folders_without_a_lock_file_are_leftovers_once_old(tmp_path: Path) -> None:
    """A hidden folder is another process's on its way to its lock, and a folder without
    a lock file may be one an older Depot uses: both are left alone until old."""
    root = tmp_path / "work"
    root.mkdir()
    names = (".process-young", ".process-old", "buildlist-young", "buildlist-old")
    for name in names:
        (root / name).mkdir()
        if name.endswith("old"):
            _aged(root / name, UNLOCKED_AGE + 5)
    (root / "stray.txt").write_text("not a folder")
    assert [left.name for left in leftovers(root)] == [".process-old", "buildlist-old"]
    leftovers(root, remove=True)
    assert sorted(p.name for p in root.iterdir()) == [
        ".process-young", "buildlist-young", "stray.txt"]


def test_a_leftover_with_read_only_folders_is_removed(tmp_path: Path) -> None:
    """A module cache written without -modcacherw has read-only folders."""
    root = tmp_path / "work"
    cache = root / "validate-y" / "modcache" / "depot.test" / "m@v1.0.0"
    cache.mkdir(parents=True)
    (cache / "m.go").write_text("package m\n")
    cache.chmod(0o555)
    cache.parent.chmod(0o555)
    _aged(root / "validate-y", UNLOCKED_AGE + 5)  # no lock file: an older Depot's
    [left] = leftovers(root, remove=True)
    assert left.removed and left.size == len("package m\n")
    assert list(root.iterdir()) == []
