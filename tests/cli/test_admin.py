"""`sipline admin ...` in-process on a database of the test's own: refusing a missing platform, app list."""

import json
from pathlib import Path

from tests.cli.conftest import Cli, table


def test_refuses_a_data_directory_that_does_not_exist(admin: Cli) -> None:
    data_dir = Path(admin.env["SIPLINE_DATA_DIR"])
    for args in (("account", "list"), ("app", "list"), ("account", "create")):
        failed = admin.fails("admin", *args)
        assert f"data directory {data_dir} does not exist" in failed.stderr
        assert "--init" in failed.stderr and '"sipline serve"' in failed.stderr
        assert failed.stdout == ""
    assert not data_dir.exists()


def test_refuses_a_data_directory_without_a_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = Cli({"SIPLINE_DATA_DIR": str(empty)}).fails("admin", "account", "list")
    assert f"data directory {empty} holds no database (sipline.db)" in failed.stderr
    assert list(empty.iterdir()) == []


def test_init_creates_the_platform_and_says_so(admin: Cli) -> None:
    data_dir = Path(admin.env["SIPLINE_DATA_DIR"])
    created = admin.ok("admin", "account", "create", "--init", "--name", "Acme", "--json")
    assert (
        f"data directory {data_dir} does not exist: creating a new platform there (--init)" in created.stderr
    )
    assert set(json.loads(created.stdout)) == {"apiKey", "apiSecret"}
    assert (data_dir / "secret.key").exists()
    # from now on the platform is there: no --init, no notice
    listed = admin.ok("admin", "account", "list")
    assert listed.stderr == ""
    assert [row["name"] for row in table(listed)] == ["Acme"]


def test_app_list_shows_every_app_or_one_accounts(admin: Cli) -> None:
    first = admin.json("admin", "account", "create", "--init")["apiKey"]
    second = admin.json("admin", "account", "create")["apiKey"]
    one = admin.json("admin", "app", "create", "--api-key", first, "--name", "crm", "--phone-limit", "20")
    two = admin.json("admin", "app", "create", "--api-key", second)

    listed = admin.json("admin", "app", "list")
    assert listed == [
        {"appId": one["appId"], "apiKey": first, "name": "crm", "phoneLimit": 20, "phoneCount": 0},
        {"appId": two["appId"], "apiKey": second, "name": "", "phoneLimit": 1000, "phoneCount": 0},
    ]
    assert [app["appId"] for app in admin.json("admin", "app", "list", "--api-key", second)] == [two["appId"]]

    rows = table(admin.ok("admin", "app", "list"))
    assert rows == [
        {"appId": one["appId"], "apiKey": first, "name": "crm", "phoneLimit": "20", "phoneCount": "0"},
        {"appId": two["appId"], "apiKey": second, "name": "", "phoneLimit": "1000", "phoneCount": "0"},
    ]

    unknown = admin.fails("admin", "app", "list", "--api-key", "nobody")
    assert "[-22] apiKey 'nobody' does not exist" in unknown.stderr


def test_blanks_instead_of_none_and_json_in_camel_case(admin: Cli) -> None:
    key = admin.json("admin", "account", "create", "--init")["apiKey"]
    shown = admin.ok("admin", "account", "show", key).stdout
    assert "None" not in shown
    fields = {line.split()[0]: line.split()[1:] for line in shown.splitlines()}
    assert fields["quoteExchange"] == [] and fields["ipAllowlist"] == [] and fields["locked"] == ["no"]
    assert set(admin.json("admin", "account", "show", key)) == {
        "apiKey", "name", "locked", "ipAllowlist", "balance", "currency", "quoteExchange", "createdAt",
        "apps",
    }  # fmt: skip


LONG_NAME = "Acme Intercontinental Widgets and Telephony Holdings 0123456789"


def test_tables_fold_long_values_in_a_narrow_terminal_and_keep_rows_whole_in_a_pipe(admin: Cli) -> None:
    key = admin.json("admin", "account", "create", "--init", "--name", LONG_NAME)["apiKey"]
    narrow = admin.run("admin", "account", "list", columns="50")
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert all(len(line) <= 50 for line in lines) and "…" not in narrow.stdout
    rule = next(index for index, line in enumerate(lines) if line.startswith("─"))
    header, rows = lines[rule - 1], lines[rule + 1 :]
    name_at, locked_at = header.index("name"), header.index("locked")
    # each value folded down its column, every character kept: nothing cut
    key_column = "".join(row[:name_at].strip() for row in rows)
    name_column = "".join(row[name_at:locked_at].replace(" ", "") for row in rows)
    assert key_column == key and name_column == LONG_NAME.replace(" ", "")
    assert len(rows) > 5

    piped = admin.run("admin", "account", "list", columns=None)
    assert piped.exit_code == 0, piped.output
    header, _rule, row = piped.stdout.splitlines()
    assert header.split() == ["apiKey", "name", "locked", "balance", "currency", "apps"]
    assert row.split()[0] == key and LONG_NAME in row and len(row) > 80
