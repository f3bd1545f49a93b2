"""The composition root: settings in, a running platform out. Nothing else wires dependencies."""

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from sipline.config import Settings
from sipline.services.auth import AuthService
from sipline.services.directory import Directory
from sipline.services.phones import PhoneService
from sipline.services.tenancy import TenancyService
from sipline.store.database import create_engine, session_factory
from sipline.store.migrate import upgrade_to_head
from sipline.store.secretbox import SecretBox

log = logging.getLogger("sipline")


@dataclass
class Platform:
    settings: Settings
    engine: AsyncEngine
    admin_token: str
    directory: Directory
    auth: AuthService
    phones: PhoneService
    tenancy: TenancyService

    async def close(self) -> None:
        await self.engine.dispose()


async def build_platform(settings: Settings, *, migrate: bool = True) -> Platform:
    """Open the database (migrating it to the newest schema) and wire the services."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secrets_box = (
        SecretBox.from_base64(settings.secret_key)
        if settings.secret_key
        else SecretBox.from_key_file(settings.secret_key_file)
    )
    engine = create_engine(settings.effective_database_url)
    if migrate:
        await upgrade_to_head(engine)
    sessions = session_factory(engine)
    directory = Directory(sessions, secrets_box)
    return Platform(
        settings=settings,
        engine=engine,
        admin_token=settings.admin_token or _admin_token_from_file(settings.admin_token_file),
        directory=directory,
        auth=AuthService(directory, settings.timestamp_window),
        phones=PhoneService(sessions, secrets_box, directory),
        tenancy=TenancyService(sessions, secrets_box, directory, settings.default_phone_limit),
    )


def build_app(platform: Platform) -> FastAPI:
    from sipline.api.app import create_app

    return create_app(platform)


def _admin_token_from_file(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
        log.info("generated an admin API token in %s", path)
    return path.read_text().strip()
