"""Random hex for branches, tags and Call-IDs, from the OS's secure source read in blocks.

Branches and tags must be unique and hard to guess (a guessed tag lets a stranger end a call), so
they come from os.urandom; one system call per block instead of one per id keeps them cheap when a
call needs a dozen of them.
"""

import os

_BLOCK = 4096
_pool = b""


def random_hex(nbytes: int) -> str:
    global _pool
    if len(_pool) < nbytes:
        _pool = os.urandom(_BLOCK)
    chunk, _pool = _pool[:nbytes], _pool[nbytes:]
    return chunk.hex()
