"""Options shared by several commands."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sipline.config import ConfigError, Settings, load_settings

F = Callable[..., Any]


def platform_options(func: F) -> F:
    """--config, --data-dir and --database-url: where the platform's state is."""
    func = click.option("--database-url", envvar=None, help="SQLAlchemy URL (env SIPLINE_DATABASE_URL).")(
        func
    )
    func = click.option(
        "--data-dir", type=click.Path(path_type=Path), help="Data directory (env SIPLINE_DATA_DIR)."
    )(func)
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        envvar="SIPLINE_CONFIG",
        help="TOML configuration file (env SIPLINE_CONFIG).",
    )(func)
    return func


def settings_from(config_file: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config_file, **overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def json_flag(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)
