"""The shell helpers that fetch the test servers' files (scripts/lib): a refused artifact
is named, a stale classpath is noticed, a long wait says it is still going."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.config import REPO_ROOT

MISSING_VERSION = "0.0.0-depot-never-published"


def bash(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run SCRIPT in bash from the repository root, with scripts/lib's helpers sourced."""
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; . scripts/lib/maven.sh; {script}"],
        cwd=REPO_ROOT, env={**os.environ, "TMPDIR": str(tmp_path), **env},
        capture_output=True, text=True, timeout=600)


def test_a_classpath_with_a_missing_jar_is_not_present(tmp_path):
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"PK")
    listed = tmp_path / "classpath.txt"
    listed.write_text(f"{jar}:{jar}")
    assert bash(f"classpath_present {listed}", tmp_path).returncode == 0
    listed.write_text(f"{jar}:{tmp_path / 'gone.jar'}")
    assert bash(f"classpath_present {listed}", tmp_path).returncode == 1
    assert bash(f"classpath_present {tmp_path / 'none.txt'}", tmp_path).returncode == 1


def test_a_long_wait_prints_progress_and_keeps_the_exit_status(tmp_path):
    done = subprocess.run(
        ["bash", "-c", ". scripts/lib/progress.sh; tick() { echo still going; }; "
         "(sleep 3; exit 7) & wait_with_progress $! 1 tick; echo status=$?"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert "status=7" in done.stdout
    assert done.stderr.count("still going") >= 2


def test_maven_transfer_lines_are_counted(tmp_path):
    log = tmp_path / "maven.log"
    log.write_text(
        "[INFO] Downloading from central: https://repo.example/a.pom\n"
        "[INFO] Downloaded from central: https://repo.example/a.pom (3.9 kB at 4.8 kB/s)\n"
        "[INFO] Downloaded from central: https://repo.example/b.jar (2.5 MB at 9 MB/s)\n")
    done = bash(f"maven_downloaded {log}", tmp_path)
    assert done.stdout == "2 files, 2.5 MB"


@pytest.mark.network
def test_a_refused_artifact_is_named_and_nothing_is_kept(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text(f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>depot.test</groupId><artifactId>refused</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.gaul</groupId><artifactId>s3proxy</artifactId>
      <version>{MISSING_VERSION}</version></dependency>
  </dependencies>
</project>
""")
    out = tmp_path / "classpath.txt"
    done = bash(f'maven_classpath probe "s3proxy {MISSING_VERSION}" {pom} {out}', tmp_path)
    assert done.returncode != 0
    assert f"probe: Maven could not fetch org.gaul:s3proxy:jar:{MISSING_VERSION}" in done.stderr
    assert not out.exists() and not Path(f"{out}.tmp").exists()
    assert not list(tmp_path.glob("depot-maven-*")), "the Maven log is removed"
