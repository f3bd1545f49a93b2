"""Reference cycles left behind: collect everything, pause the collector, do the thing, then a
collection that keeps what it finds (DEBUG_SAVEALL) names the objects of sipline's own it found."""

from __future__ import annotations

import gc
import types
from collections import Counter
from collections.abc import Iterator

import pytest


@pytest.fixture
def paused_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def sipline_garbage() -> Counter[str]:
    """The objects of sipline's own classes that only reference cycles kept alive."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found = Counter(
        f"{type(o).__module__}.{type(o).__qualname__}"
        for o in gc.garbage
        if type(o).__module__.startswith("sipline.")
    )
    found += Counter(
        f"closure {o.__module__}.{o.__qualname__}"
        for o in gc.garbage
        if isinstance(o, types.FunctionType) and o.__module__.startswith("sipline.")
    )
    gc.garbage.clear()
    gc.set_debug(0)
    return found
