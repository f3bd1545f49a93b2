"""`sipline admin account limits|adjust|ledger` on the database, `sipline balance|ledger` through the API."""

from tests.cli.conftest import Cli, table


def test_operator_limits_adjustments_and_ledger(admin: Cli) -> None:
    key = admin.json("admin", "account", "create", "--init", "--balance", "10")["apiKey"]
    assert admin.json("admin", "account", "limits", key) == {
        "apiKey": key,
        "maxConcurrent": None,
        "maxCps": None,
        "dailyCap": None,
        "deny": [],
        "allowOnly": [],
    }
    limits = ("--max-concurrent", "4", "--max-cps", "2", "--daily-cap", "25", "--deny", "1900, 4470")
    shown = admin.json("admin", "account", "limits", key, *limits)
    assert (shown["maxConcurrent"], shown["maxCps"], shown["dailyCap"], shown["deny"]) == (
        4, 2, "25", ["1900", "4470"],
    )  # fmt: skip
    # options given change those limits, the others are kept; 0 / none / "" remove one
    changed = admin.json("admin", "account", "limits", key, "--max-cps", "0", "--allow-only", "44")
    assert (changed["maxConcurrent"], changed["maxCps"], changed["allowOnly"]) == (4, None, ["44"])
    cleared = admin.json("admin", "account", "limits", key, "--daily-cap", "none", "--deny", "")
    assert (cleared["dailyCap"], cleared["deny"], cleared["maxConcurrent"]) == (None, [], 4)
    assert admin.json("admin", "account", "limits", key, "--clear")["maxConcurrent"] is None
    bad = admin.fails("admin", "account", "limits", key, "--deny", "19a")
    assert "[-22] deny prefix '19a' must be 1-20 digits" in bad.stderr

    row = admin.json("admin", "account", "adjust", key, "-2.5", "--reason", "goodwill correction")
    assert (row["kind"], row["amount"], row["balanceAfter"]) == ("adjust", "-2.5", "7.5")
    no_reason = admin.fails("admin", "account", "adjust", key, "1", "--reason", " ")
    assert "[-22] reason is required" in no_reason.stderr
    below = admin.fails("admin", "account", "adjust", key, "-8", "--reason", "too much")
    assert "[-10]" in below.stderr

    rows = table(admin.ok("admin", "account", "ledger", key))
    assert [(r["kind"], r["amount"], r["reference"]) for r in rows] == [
        ("adjust", "-2.5", "goodwill correction"),
        ("topup", "10", "opening"),
    ]
    paged = admin.json("admin", "account", "ledger", key, "--size", "1", "--page", "2")
    assert (paged["total"], paged["pages"], paged["records"][0]["kind"]) == (2, 2, "topup")


def test_customer_balance_and_ledger_through_the_api(customer: Cli) -> None:
    assert customer.json("balance") == {"balance": "5", "gift": "0", "credit": "0"}
    ledger = customer.json("ledger")
    assert [(r["kind"], r["amount"], r["balanceAfter"]) for r in ledger["records"]] == [("topup", "5", "5")]
    nothing = customer.json("ledger", "--from", "2999-01-01T00:00:00+00:00")
    assert nothing["total"] == 0
    assert "Invalid value for '--size'" in customer.fails("ledger", "--size", "500", exit_code=2).stderr
