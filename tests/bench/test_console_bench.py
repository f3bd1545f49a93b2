"""bench/console cannot rot: `python -m bench.console` seeds a few records, measures every case through
the real app (a console sign-in, SDK-signed recordGroupQuery) and prints its figures; a second run
against the same database reuses the seed. No timing is asserted."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = (
    "records page: last 24 h",
    "records page: 24 h, one group",
    "records page: 24 h, answered, >= 60 s",
    "records page: 24 h, failed 486",
    "records page: 24 h, middle page",
    "recordGroupQuery: 24 h, page 1",
    "recordGroupQuery: 24 h, 90 % deep",
)
NUMBER = r"\s+(\d+\.\d+)"


def bench(tmp_path: Path, database_url: str) -> str:
    command = [sys.executable, "-m", "bench.console", "--records", "3000", "--requests", "3"]
    command += ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_the_bench_prints_every_case_and_reuses_its_seed(tmp_path: Path, database_url: str) -> None:
    first = bench(tmp_path, database_url)
    assert "seeded 3,000 records for account bench-big-3000" in first
    assert "seeded 30 records for account bench-small-30" in first
    # The measured day holds about a 30th of the month (office hours weigh every day alike).
    day = int(re.search(r"([\d,]+) in the measured 24 h", first).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert 50 <= day <= 150
    for case in CASES:
        figures = re.search(re.escape(case) + NUMBER * 5 + r"\n", first)
        assert figures, f"{case!r} missing in:\n{first}"
        p50, p95, p99, base, _ratio = map(float, figures.groups())
        assert 0 < p50 <= p95 <= p99 and base > 0
    assert "worst p95:" in first

    second = bench(tmp_path, database_url)
    assert "reusing the 3,000 records of account bench-big-3000" in second
    assert "seeded" not in second
    assert all(case in second for case in CASES)
