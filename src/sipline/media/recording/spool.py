"""The spool after a crash: recordings left behind to finish, and removal once encoded.

A recording stays in the spool from its start until ``discard`` after a successful encode, so at
the next start every directory with readable metadata is one a crash (or a failed encode) left.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from sipline.media.port import RawRecording
from sipline.media.recording.layout import CorruptMetadata, read_metadata, recording_directory

log = logging.getLogger("sipline.media.recording")


def interrupted(spool: Path) -> list[RawRecording]:
    """Recordings left in ``spool``, oldest first; directories that are not a readable
    recording are skipped with a warning (and left there for an operator)."""
    try:
        entries = sorted(spool.iterdir())
    except FileNotFoundError:
        return []
    found: list[RawRecording] = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            found.append(read_metadata(entry))
        except CorruptMetadata as exc:
            log.warning("recording spool: skipping %s: %s", entry, exc)
    found.sort(key=lambda raw: raw.started_at)
    return found


def discard(raw: RawRecording) -> None:
    """Removes the recording's spool directory (after its mp3 is safely written); raises
    ``ValueError`` for a directory that is not a recording's own (never removes anything else)."""
    if raw.directory != recording_directory(raw.directory.parent, raw.recording_id):
        raise ValueError(f"{raw.directory} is not recording {raw.recording_id!r}'s spool directory")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(raw.directory)
