"""sipline's own asyncio SIP stack: parser, transports, transactions, digest, registrar, dialogs.

Start here: ``SipServer`` (server.py) with a ``CredentialSource`` (credentials.py) and a
``BindingStore`` (bindings.py; in-memory one in bindings_memory.py). Calls: ``invite()`` (uac.py)
places one and gives a ``Dialog``; ``DialogTable`` (dialog.py) routes in-dialog requests.
"""

from sipline.sip.bindings import Binding, BindingStore
from sipline.sip.bindings_memory import MemoryBindingStore
from sipline.sip.credentials import Credential, CredentialSource, StaticCredentialSource
from sipline.sip.dialog import Dialog, DialogTable
from sipline.sip.errors import SipParseError
from sipline.sip.server import SipServer, SipServerConfig
from sipline.sip.uac import invite

__all__ = [
    "Binding",
    "BindingStore",
    "Credential",
    "CredentialSource",
    "Dialog",
    "DialogTable",
    "MemoryBindingStore",
    "SipParseError",
    "SipServer",
    "SipServerConfig",
    "StaticCredentialSource",
    "invite",
]
