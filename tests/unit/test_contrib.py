"""contrib/: the example configuration is valid, complete and shows the true defaults; the systemd unit
runs the command the docs name."""

import re
from pathlib import Path

import pytest

from sipline.config import Settings, load_settings
from tests.conftest import REPO

EXAMPLE = REPO / "contrib" / "sipline.example.toml"
# `#name = value` / `#[table]`: a default, commented out (`# name = ...`, with a space, is an example).
_COMMENTED_DEFAULT = re.compile(r"^#(?=\w+ = |\[)", re.M)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"SIPLINE_{name.upper()}", raising=False)


def test_the_example_loads_as_the_defaults_with_the_unit_s_data_directory() -> None:
    assert load_settings(EXAMPLE) == Settings(data_dir=Path("/var/lib/sipline"))


def test_every_commented_default_is_the_true_default(tmp_path: Path) -> None:
    uncommented = tmp_path / "sipline.toml"
    uncommented.write_text(_COMMENTED_DEFAULT.sub("", EXAMPLE.read_text()))
    assert uncommented.read_text().count("\n#") < EXAMPLE.read_text().count("\n#")  # the pattern matched
    assert load_settings(uncommented) == Settings(data_dir=Path("/var/lib/sipline"))


def test_every_setting_is_in_the_example() -> None:
    text = EXAMPLE.read_text()
    named = {key or table for key, table in re.findall(r"^#? ?(?:(\w+) = |\[+(\w+)[\].])", text, re.M)}
    missing = [name for name in Settings.model_fields if name not in named]
    assert missing == [], f"add these settings to {EXAMPLE.relative_to(REPO)}: {missing}"


def test_the_unit_runs_sipline_serve_with_the_example_s_path() -> None:
    unit = (REPO / "contrib" / "sipline.service").read_text()
    assert "ExecStart=/opt/sipline/.venv/bin/sipline serve --config /etc/sipline/sipline.toml\n" in unit
    assert "ReadWritePaths=/var/lib/sipline\n" in unit and "WorkingDirectory=/var/lib/sipline\n" in unit
    docs = (REPO / "docs" / "operations.md").read_text()
    assert "contrib/sipline.service" in docs and "contrib/sipline.example.toml" in docs
