"""`sipline admin user ...`: console users created, listed and deleted on the database."""

import json

from click.testing import CliRunner

from sipline.cli.main import cli
from tests.cli.conftest import Cli


def _create(admin: Cli, *args: str, password: str = "a long enough password\n") -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["admin", "user", "create", *args], env=admin.env, input=password)
    return result.exit_code, result.stdout, result.stderr


def test_users_are_created_listed_and_deleted(admin: Cli) -> None:
    api_key = admin.json("admin", "account", "create", "--init")["apiKey"]
    code, out, _ = _create(admin, "Alice@Example.com", "--account", api_key, "--password-stdin", "--json")
    assert code == 0, out
    assert json.loads(out) == {"email": "alice@example.com", "role": "customer", "apiKey": api_key}
    assert _create(admin, "root@example.com", "--operator", "--password-stdin")[0] == 0
    listed = admin.json("admin", "user", "list")
    assert [(u["email"], u["role"], u["apiKey"]) for u in listed] == [
        ("alice@example.com", "customer", api_key),
        ("root@example.com", "operator", None),
    ]
    assert (
        "deleted console user root@example.com"
        in admin.ok("admin", "user", "delete", "root@example.com").stdout
    )
    assert [u["email"] for u in admin.json("admin", "user", "list")] == ["alice@example.com"]


def test_bad_requests_fail_cleanly(admin: Cli) -> None:
    api_key = admin.json("admin", "account", "create", "--init")["apiKey"]
    code, _, err = _create(admin, "bob@example.com", "--password-stdin")
    assert code == 2 and "exactly one of --account KEY and --operator" in err
    code, _, err = _create(admin, "bob@example.com", "--account", "nobody", "--password-stdin")
    assert code == 1 and "[-22] apiKey 'nobody' does not exist" in err
    code, _, err = _create(
        admin, "bob@example.com", "--account", api_key, "--password-stdin", password="short\n"
    )
    assert code == 1 and "password must have 10 to 1024 characters" in err
    assert _create(admin, "bob@example.com", "--operator", "--password-stdin")[0] == 0
    code, _, err = _create(admin, "bob@example.com", "--operator", "--password-stdin")
    assert code == 1 and "[-20] console user bob@example.com already exists" in err
    assert (
        "console user nobody@example.com does not exist"
        in admin.fails("admin", "user", "delete", "nobody@example.com").stderr
    )


def test_the_password_is_prompted_for_twice(admin: Cli) -> None:
    admin.json("admin", "account", "create", "--init")
    code, out, _ = _create(admin, "root@example.com", "--operator", password="a long enough password\n" * 2)
    assert code == 0, out
    assert [u["email"] for u in admin.json("admin", "user", "list")] == ["root@example.com"]
