"""audioop left the standard library in Python 3.13: the recorder's G.711 decoding there comes from
``audioop-lts`` (pyproject installs it by environment marker). Decode every code point on a newer
Python, with exactly the packages pip picks for it, and compare with this interpreter's result."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sipline.media.recording.pcm import pcma_to_pcm, pcmu_to_pcm

pytestmark = pytest.mark.slow


def _newer_python() -> str | None:
    """A working Python 3.13+ interpreter: on PATH, or one pyenv installed (its shims may refuse)."""
    candidates = [shutil.which(name) for name in ("python3.14", "python3.13")]
    candidates += sorted(map(str, (Path.home() / ".pyenv" / "versions").glob("3.1[3-9]*/bin/python3")))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 13))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


_SCRIPT = """
import json, sys
from sipline.media.recording.pcm import pcma_to_pcm, pcmu_to_pcm
import audioop
every = bytes(range(256))
print(json.dumps({"ulaw": pcmu_to_pcm(every).hex(), "alaw": pcma_to_pcm(every).hex(),
                  "audioop": audioop.__file__, "version": list(sys.version_info[:2])}))
"""


def test_g711_decoding_is_the_same_on_python_3_13_with_audioop_lts(tmp_path: Path) -> None:
    newer = _newer_python()
    if newer is None:
        pytest.skip("no Python 3.13 or newer is installed")
    site = tmp_path / "site"
    root = Path(__file__).resolve().parents[2]
    # the requirement as pyproject writes it, marker and all: pip evaluates it for that interpreter
    install = subprocess.run(
        [
            newer,
            "-m",
            "pip",
            "install",
            "-q",
            "--target",
            str(site),
            "audioop-lts>=0.2; python_version >= '3.13'",
            "G722>=1.2.8",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    run = subprocess.run(
        [newer, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{site}:{root / 'src'}", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    there = json.loads(run.stdout)
    assert there["version"] >= [3, 13]
    assert str(site) in there["audioop"]  # the package, not a standard-library module
    every = bytes(range(256))
    assert there["ulaw"] == pcmu_to_pcm(every).hex()
    assert there["alaw"] == pcma_to_pcm(every).hex()
