"""Bring the schema to the newest Alembic revision; run at every start."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any 64-bit number unique to sipline: nodes sharing one PostgreSQL migrate one at a time.
_PG_MIGRATION_LOCK = 0x5199_11E0


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(config, "head")


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def head_revision() -> str | None:
    """The newest revision among the migrations this code ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None when it was never migrated (no `alembic_version`).

    One query; raises when the database cannot be reached.
    """
    async with engine.connect() as connection:
        try:
            revision: str | None = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            return None  # connected, but the statement failed: no version table
        return revision
