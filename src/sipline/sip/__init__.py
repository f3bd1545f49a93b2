"""sipline's own asyncio SIP stack: parser, transports, transactions, digest, registrar.

Start here: ``SipServer`` (server.py) with a ``CredentialSource`` (credentials.py) and a
``BindingStore`` (bindings.py; in-memory one in bindings_memory.py).
"""

from sipline.sip.bindings import Binding, BindingStore
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import Credential, CredentialSource, StaticCredentialSource
from sipline.sip.errors import SipParseError
from sipline.sip.server import SipServer, SipServerConfig

__all__ = [
    "Binding",
    "BindingStore",
    "Credential",
    "CredentialSource",
    "MemoryBindingStore",
    "SipParseError",
    "SipServer",
    "SipServerConfig",
    "StaticCredentialSource",
]
