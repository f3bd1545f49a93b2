"""README "First steps", run as written against a real `sipline serve`: its commands in order, with the
values they print put in for KEY, SECRET, APPID, ACCOUNT and PASSWORD, then its Python example."""

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Cli
from tests.conftest import REPO
from tests.e2e.conftest import SIPLINE, Served

pytestmark = pytest.mark.slow


def first_steps() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("## First steps", 1)[1].split("\n## ", 1)[0]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def commands(text: str) -> Iterator[list[str]]:
    """Each `.venv/bin/sipline ...` and `export ...` line of the section's shell blocks."""
    for block in blocks(text, "sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and (words[0] == "export" or words[0].endswith("bin/sipline")):
                yield words


def test_first_steps_run_as_written(served: Served) -> None:
    section = first_steps()
    cli = Cli(dict(served.env) | {"SIPLINE_BASE_URL": served.base_url})
    values: dict[str, str] = {}
    phone: subprocess.Popen[str] | None = None

    def fill(word: str) -> str:
        return re.sub(r"\b(KEY|SECRET|APPID|ACCOUNT|PASSWORD)\b", lambda m: values[m.group()], word)

    try:
        ran = []
        for words in commands(section):
            words = [fill(word) for word in words]
            if words[0] == "export":
                cli.env |= dict(word.split("=", 1) for word in words[1:])
                continue
            args = words[1:]
            if args[:1] == ["call"] and phone is None:
                # the prose before the call: register a (virtual) phone as ACCOUNT with PASSWORD
                virtual = re.search(
                    r"`\.venv/bin/sipline\s+(phone\s+--account\s+ACCOUNT\s+--password\s+PASSWORD)`", section
                )
                assert virtual is not None
                registrar = f"127.0.0.1:{served.sip_port}"
                phone = subprocess.Popen(
                    [*SIPLINE, *map(fill, virtual.group(1).split()), "--server", registrar],
                    env=os.environ | served.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                while not cli.json("phones", "list")[0]["registered"]:
                    assert phone.poll() is None
                    time.sleep(0.1)
            result = cli.ok(*args)
            ran.append(args[:2])
            if args[:3] == ["admin", "account", "create"]:
                created = json.loads(result.stdout)
                values |= {"KEY": created["apiKey"], "SECRET": created["apiSecret"]}
            elif args[:3] == ["admin", "app", "create"]:
                values["APPID"] = json.loads(result.stdout)["appId"]
            elif args[:2] == ["phones", "list"]:
                first = cli.json("phones", "list")[0]
                values |= {"ACCOUNT": first["account"], "PASSWORD": first["password"]}
            elif args[:1] == ["call"]:
                assert "hung up after 5 s: 200" in result.stderr
        assert ran == [
            ["admin", "account"], ["admin", "app"], ["phones", "add"], ["phones", "list"],
            ["call", "--account"], ["records", "list"],
        ]  # fmt: skip

        (example,) = blocks(section, "python")
        example = fill(example).replace("http://127.0.0.1:8080", served.base_url)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example, "README.md", "exec"), {})
        lines = printed.getvalue().splitlines()
        assert [line.split()[:2] for line in lines[:5]] == [
            ["salesDesk", "sales-1"], ["salesDesk", "sales-2"], ["salesDesk", "sales-3"],
            ["supportDesk", "support-1"], ["supportDesk", "support-2"],
        ]  # fmt: skip
        assert lines[5].startswith("CallRecord(voice_id=")
    finally:
        if phone is not None:
            phone.terminate()
            phone.communicate(timeout=15)
