"""`sipline admin rates ...` in-process on a database of the test's own: import (all or nothing, line
numbers on stderr), versions, export to standard output or a file."""

import json
from pathlib import Path

from tests.cli.conftest import Cli, table

HEADER = "prefix,destination,rate,base_rate,period,connect_fee"
DECK = f"{HEADER}\n44,UK,0.0200,0.0300,20+20,0.0100\n1,US,0.0100,,6+6,\n"


def test_import_list_and_export(admin: Cli, tmp_path: Path) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text(DECK)
    imported = admin.ok(
        "admin", "rates", "import", str(deck), "--init", "--effective-from", "2026-01-01T01:00:00+01:00"
    )
    assert "writing rates" in imported.stderr and "2/2" in imported.stderr  # the progress bar
    shown = dict(line.split(None, 1) for line in imported.stdout.splitlines() if " " in line.strip())
    assert shown["effectiveFrom"].strip() == "2026-01-01T00:00:00+00:00" and shown["lines"].strip() == "2"
    future = admin.json("admin", "rates", "import", str(deck), "--effective-from", "2099-01-01T00:00:00Z")
    assert future["lines"] == 2 and future["account"] is None

    rows = table(admin.ok("admin", "rates", "list"))
    assert [(row["id"], row["account"], row["effectiveFrom"]) for row in rows] == [
        ("1", "(platform)", "2026-01-01T00:00:00+00:00"),
        (str(future["id"]), "(platform)", "2099-01-01T00:00:00+00:00"),
    ]
    exported = admin.ok("admin", "rates", "export")
    assert exported.stdout == f"{HEADER}\n1,US,0.0100,,6+6,0.0000\n44,UK,0.0200,0.0300,20+20,0.0100\n"
    out = tmp_path / "out.csv"
    written = admin.ok("admin", "rates", "export", str(out), "--at", "2099-01-01T00:00:00Z")
    assert out.read_text() == exported.stdout and f"{out}: version {future['id']}" in written.stderr


def test_a_bad_file_names_its_lines_and_imports_nothing(admin: Cli, tmp_path: Path) -> None:
    deck = tmp_path / "bad.csv"
    deck.write_bytes(DECK.encode() + b"44,UK,0.02,,20+20\n7,RU,0.1,,60\n8,\xff,0.1,,60+60\n")
    failed = admin.fails("admin", "rates", "import", str(deck), "--init")
    assert f"{deck}: line 4: prefix 44 appears twice (first on line 2)" in failed.stderr
    assert f"{deck}: line 5: billing period '60' is not of the form FIRST+NEXT" in failed.stderr
    assert f"{deck}: line 6: not UTF-8 text" in failed.stderr
    assert f"{deck}: rate deck refused, nothing imported" in failed.stderr
    assert json.loads(admin.ok("admin", "rates", "list", "--json").stdout) == []


def test_bad_options_are_clean_failures(admin: Cli, tmp_path: Path) -> None:
    deck = tmp_path / "deck.csv"
    deck.write_text(DECK)
    naive = admin.fails(
        "admin", "rates", "import", str(deck), "--init", "--effective-from", "2026-12-02T06:00", exit_code=2
    )
    assert "must include a UTC offset" in naive.stderr
    unknown = admin.fails("admin", "rates", "import", str(deck), "--init", "--account", "nobody")
    assert "[-22] apiKey 'nobody' does not exist" in unknown.stderr
    assert "[-22]" in admin.fails("admin", "rates", "export", "--account", "nobody").stderr
