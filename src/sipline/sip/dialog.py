"""RFC 3261 §12 dialogs on top of the transaction layer.

A ``Dialog`` holds the dialog state (IDs, CSeqs, remote target, route set, the Flow) and
builds in-dialog requests; ``DialogTable`` routes incoming in-dialog requests and ACKs to
their dialog (481 when none matches) and answers INVITEs so that a dialog is created.
Placing a call (INVITE/CANCEL as a UAC) lives in uac.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Protocol

from sipline.sip.errors import SipParseError
from sipline.sip.headers import NameAddr, Via, parse_name_addr
from sipline.sip.message import SipRequest, SipResponse
from sipline.sip.transaction import ServerTransaction, TransactionLayer, new_branch
from sipline.sip.transport import Flow
from sipline.sip.uri import SipUri

log = logging.getLogger(__name__)

DialogId = tuple[str, str, str]  # Call-ID, local tag, remote tag
RequestCallback = Callable[["Dialog", ServerTransaction], None]

# Requests that may change the remote target (RFC 3261 §12.2, RFC 3311, RFC 6665)
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
# Never carry a CSeq of their own: they reuse the number of the request they belong to
_NO_NEW_CSEQ = frozenset({"ACK", "CANCEL"})
_AUTH_HEADERS = ("Authorization", "Proxy-Authorization")
ALLOWED_IN_DIALOG = "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS"


class HasTransactions(Protocol):
    """What a SipServer offers: its transaction layer (kept abstract to avoid an import cycle)."""

    @property
    def transactions(self) -> TransactionLayer: ...


Sender = TransactionLayer | HasTransactions


def layer_of(sender: Sender) -> TransactionLayer:
    return sender if isinstance(sender, TransactionLayer) else sender.transactions


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Dialog:
    """One dialog, from either side. Requests go on ``flow`` (no RFC 3263 resolution)."""

    def __init__(
        self,
        *,
        call_id: str,
        local: NameAddr,
        remote: NameAddr,
        local_cseq: int,
        remote_cseq: int | None,
        remote_target: str,
        route_set: list[str],
        local_contact: str,
        flow: Flow,
        secure: bool = False,
        state: DialogState = DialogState.EARLY,
        sender: Sender | None = None,
    ) -> None:
        if local.tag is None or remote.tag is None:
            raise ValueError("a dialog needs both tags")
        self.call_id = call_id
        self.local = local  # From of our requests, with our tag
        self.remote = remote  # To of our requests, with the peer's tag
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_contact = local_contact
        self.flow = flow
        self.secure = secure
        self.state = state
        self.sender = sender
        self.local_body: bytes = b""  # our last session description (re-sent on a bare re-INVITE)
        self.local_content_type: str | None = None
        self.on_request: RequestCallback | None = None  # in-dialog requests other than BYE
        self.on_terminated: list[Callable[[Dialog], None]] = []
        self.acked = asyncio.Event()  # the ACK for our (UAS) 2xx arrived
        self.on_ack: Callable[[Dialog, SipRequest], None] | None = None  # e.g. the answer in an ACK
        self.terminated = asyncio.Event()
        self._from_to_cache: tuple[NameAddr, NameAddr, tuple[tuple[str, str], tuple[str, str]]] | None = None

    # -- creation ----------------------------------------------------------------------
    @classmethod
    def from_uac(
        cls, request: SipRequest, response: SipResponse, flow: Flow, *, sender: Sender | None = None
    ) -> Dialog:
        """The dialog our request created, from a 1xx-with-tag (early) or 2xx (confirmed)."""
        if response.to.tag is None or not 101 <= response.status < 300:
            raise ValueError("only a 101-299 response with a To tag creates a dialog")
        records = response.headers("Record-Route")
        return cls(
            call_id=request.call_id,
            local=request.from_,
            remote=response.to,
            local_cseq=request.cseq.number,
            remote_cseq=None,
            remote_target=_target_of(response, fallback=request.uri),
            route_set=list(reversed(records)),  # the UAC sees Record-Route in reverse order
            local_contact=request.header("Contact") or "",
            flow=flow,
            secure=flow.transport == "tls" and request.request_uri.scheme == "sips",
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            sender=sender,
        )

    @classmethod
    def from_uas(
        cls,
        request: SipRequest,
        local_tag: str,
        local_contact: str,
        flow: Flow,
        *,
        sender: Sender | None = None,
    ) -> Dialog:
        """The dialog a received request creates once we answer it with ``local_tag``.

        Raises SipParseError (answer 400) when the request has no From tag or no Contact.
        """
        remote = request.from_
        if remote.tag is None:
            raise SipParseError("request without From tag cannot create a dialog")
        if not request.contacts:
            raise SipParseError("request without Contact cannot create a dialog")
        to = request.to
        local = NameAddr(to.uri, to.display_name, {**to.params, "tag": local_tag})
        return cls(
            call_id=request.call_id,
            local=local,
            remote=remote,
            local_cseq=0,  # RFC 3261 §12.1.1: our sequence space starts empty
            remote_cseq=request.cseq.number,
            remote_target=str(request.contacts[0].uri),
            route_set=request.headers("Record-Route"),
            local_contact=_contact_value(local_contact),
            flow=flow,
            secure=request.request_uri.scheme == "sips" and flow.transport == "tls",
            sender=sender,
        )

    @property
    def id(self) -> DialogId:
        assert self.local.tag is not None and self.remote.tag is not None
        return (self.call_id, self.local.tag, self.remote.tag)

    # -- state changes -----------------------------------------------------------------
    def update_from_response(self, response: SipResponse, method: str) -> None:
        """A response to our request in this dialog: confirm an early dialog, refresh target."""
        status = response.status
        if self.state is DialogState.TERMINATED or not 101 <= status < 300:
            return
        if status < 200:
            if self.state is DialogState.EARLY:  # a later 1xx may carry a new Contact
                self.remote_target = _target_of(response, fallback=self.remote_target)
            return
        if self.state is DialogState.EARLY:
            # §13.2.2.4: the 2xx, not the provisional, fixes the route set
            self.route_set = list(reversed(response.headers("Record-Route")))
            self.state = DialogState.CONFIRMED
            self.remote_target = _target_of(response, fallback=self.remote_target)
        elif method in TARGET_REFRESH:
            self.remote_target = _target_of(response, fallback=self.remote_target)

    def check_remote_cseq(self, request: SipRequest) -> bool:
        """§12.2.2: accept (and remember) the CSeq of a new request; False if out of order."""
        number = request.cseq.number
        if self.remote_cseq is not None and number < self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def terminate(self) -> None:
        if self.state is DialogState.TERMINATED:
            return
        self.state = DialogState.TERMINATED
        self.terminated.set()
        for callback in self.on_terminated:
            callback(self)
        # Neither runs again. They are closures of the TU (a B2BUA's bridge refers to both legs):
        # dropping them breaks the cycle between the two dialogs, which would otherwise keep a
        # whole call in memory until a full collection.
        self.on_terminated.clear()
        self.on_request = None
        self.on_ack = None

    # -- building requests -------------------------------------------------------------
    def new_request(
        self,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
    ) -> SipRequest:
        """An in-dialog request (§12.2.1.1); the transaction layer adds the Via when sent.

        ``cseq`` is for ACK/CANCEL of a known INVITE; other methods take the next number.
        """
        if cseq is None:
            if method not in _NO_NEW_CSEQ:
                self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes = self._request_uri_and_routes()
        fields: list[tuple[str, str]] = [("Max-Forwards", "70")]
        if routes:
            fields.append(("Route", ", ".join(routes)))
        fields += [
            *self._from_to(),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        if method in TARGET_REFRESH and self.local_contact:
            fields.append(("Contact", self.local_contact))
        fields.extend(headers)
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        return SipRequest(method, uri, fields, body)

    def _from_to(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """From and To of our requests, serialized once (they do not change within a dialog)."""
        cached = self._from_to_cache
        if cached is None or cached[0] is not self.local or cached[1] is not self.remote:
            cached = (self.local, self.remote, (("From", str(self.local)), ("To", str(self.remote))))
            self._from_to_cache = cached
        return cached[2]

    def _request_uri_and_routes(self) -> tuple[str, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = parse_name_addr(self.route_set[0])
        if "lr" in first.uri.params:
            return self.remote_target, list(self.route_set)
        # strict-routing next hop (RFC 2543): it goes in the Request-URI, the target last
        uri = first.uri
        params = {k: v for k, v in uri.params.items() if k not in ("method", "ttl", "maddr", "lr")}
        strict = SipUri(uri.scheme, uri.host, uri.user, uri.password, uri.port, params, None)
        return str(strict), [*self.route_set[1:], f"<{self.remote_target}>"]

    def create_ack(self, invite: SipRequest) -> SipRequest:
        """The ACK for a 2xx to ``invite`` (§13.2.2.4): same CSeq number, its own Via branch.

        It is sent outside any transaction (``ClientTransaction.send_ack``), so the Via is
        added here; credentials of the INVITE are repeated.
        """
        auth = [(name, value) for name, value in invite.fields if name in _AUTH_HEADERS]
        ack = self.new_request("ACK", headers=auth, cseq=invite.cseq.number)
        ack.add_header("Via", str(self._via()), first=True)
        return ack

    def _via(self) -> Via:
        host, port = (
            layer_of(self.sender).transport.advertised_addr(self.flow)
            if self.sender is not None
            else self.flow.local_addr
        )
        return Via(self.flow.transport.upper(), host, port, {"branch": new_branch(), "rport": None})

    # -- sending -----------------------------------------------------------------------
    async def request(
        self,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipResponse:
        """Send an in-dialog request in a client transaction and return its final response.

        A 2xx to a re-INVITE is ACKed here; 481 and 408 end the dialog (§12.2.1.2).
        """
        if self.sender is None:
            raise RuntimeError("dialog has no sender")
        if self.state is DialogState.TERMINATED:
            raise RuntimeError("dialog is terminated")
        request = self.new_request(method, headers=headers, body=body, content_type=content_type)
        tx = layer_of(self.sender).send_request(request, self.flow)
        response = await tx.final_response()
        self.update_from_response(response, method)
        if method == "INVITE" and 200 <= response.status < 300:
            tx.send_ack(self.create_ack(request))
            if body:
                self.local_body, self.local_content_type = body, content_type
        if response.status in (408, 481):
            self.terminate()
        return response

    async def bye(self, *, headers: Iterable[tuple[str, str]] = ()) -> SipResponse:
        """Send BYE; the dialog is terminated whatever the answer (§15.1.1)."""
        if self.sender is None:
            raise RuntimeError("dialog has no sender")
        request = self.new_request("BYE", headers=headers)
        # §15.1.1: the session ends as soon as the BYE is handed to its transaction
        self.terminate()
        tx = layer_of(self.sender).send_request(request, self.flow)
        return await tx.final_response()

    def __repr__(self) -> str:
        return f"<Dialog {self.call_id} {self.state.value}>"


class DialogTable:
    """Dialogs by (Call-ID, local tag, remote tag); routes in-dialog requests and ACKs.

    Wire it under a TransactionLayer: ``on_request`` calls ``handle_request(tx)`` first (it
    returns False for requests outside any dialog), ``on_ack`` calls ``handle_ack``.
    """

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.dialogs: dict[DialogId, Dialog] = {}

    def __len__(self) -> int:
        return len(self.dialogs)

    def add(self, dialog: Dialog) -> Dialog:
        self.dialogs[dialog.id] = dialog
        dialog.sender = dialog.sender or self.sender
        dialog.on_terminated.append(self._remove)
        return dialog

    def _remove(self, dialog: Dialog) -> None:
        if self.dialogs.get(dialog.id) is dialog:
            del self.dialogs[dialog.id]

    def find(self, request: SipRequest) -> Dialog | None:
        """The dialog of a received request: our tag is in To, the peer's in From."""
        local, remote = request.to.tag, request.from_.tag
        if local is None or remote is None:
            return None
        return self.dialogs.get((request.call_id, local, remote))

    # -- UAS: creating a dialog by answering an INVITE -----------------------------------
    def answer(
        self,
        tx: ServerTransaction,
        status: int,
        reason: str | None = None,
        *,
        contact: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Dialog | None:
        """Answer a dialog-creating INVITE; 1xx makes an early dialog, 2xx confirms it.

        Contact and Record-Route are added as §12.1.1 requires; a final ≥300 ends the early
        dialog. Returns None (after answering 400) if the INVITE cannot create a dialog.
        """
        request = tx.request
        local_contact = contact or self._default_contact(tx.flow)
        dialog = self.dialogs.get((request.call_id, tx.to_tag, request.from_.tag or ""))
        if dialog is None and status < 300 and status != 100:
            try:
                dialog = Dialog.from_uas(request, tx.to_tag, local_contact, tx.flow, sender=self.sender)
            except SipParseError as exc:
                tx.reply(400, str(exc))
                return None
            self.add(dialog)
            tx.add_cancel_callback(lambda: self._cancelled(tx, dialog))
        fields = list(headers)
        if 100 < status < 300:
            fields += [("Record-Route", rr) for rr in request.headers("Record-Route")]
            fields.append(("Contact", _contact_value(local_contact)))
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        tx.reply(status, reason, headers=fields, body=body)
        if dialog is not None:
            if 200 <= status < 300:
                dialog.state = DialogState.CONFIRMED
                if body:
                    dialog.local_body, dialog.local_content_type = body, content_type
            elif status >= 300:
                dialog.terminate()
        return dialog

    def _cancelled(self, tx: ServerTransaction, dialog: Dialog | None) -> None:
        if dialog is not None and dialog.state is DialogState.EARLY:
            tx.reply(487)
            dialog.terminate()

    def _default_contact(self, flow: Flow) -> str:
        host, port = layer_of(self.sender).transport.advertised_addr(flow)
        suffix = "" if flow.transport == "udp" else f";transport={flow.transport}"
        return f"<sip:{host}:{port}{suffix}>"

    # -- incoming in-dialog requests ----------------------------------------------------
    def handle_request(self, tx: ServerTransaction) -> bool:
        """Handle a request with a To tag (481/500/BYE/target refresh); False if it has none."""
        request = tx.request
        if request.to.tag is None:
            return False
        dialog = self.find(request)
        if dialog is None or dialog.state is DialogState.TERMINATED:
            tx.reply(481)
            return True
        if not dialog.check_remote_cseq(request):
            tx.reply(500, "CSeq Out Of Order")
            return True
        method = request.method
        if method == "BYE":
            tx.reply(200)
            dialog.terminate()
            return True
        if method in TARGET_REFRESH:
            try:
                contacts = request.contacts
            except SipParseError:
                tx.reply(400, "Bad Contact")
                return True
            if contacts:
                dialog.remote_target = str(contacts[0].uri)
        if dialog.on_request is not None:
            dialog.on_request(dialog, tx)
        else:
            _default_in_dialog(dialog, tx)
        return True

    def handle_ack(self, ack: SipRequest, flow: Flow) -> bool:
        """An ACK for one of our 2xx: marks its dialog acknowledged; False when unknown."""
        dialog = self.find(ack)
        if dialog is None:
            return False
        if dialog.state is DialogState.EARLY:
            dialog.state = DialogState.CONFIRMED
        first = not dialog.acked.is_set()
        dialog.acked.set()
        if first and dialog.on_ack is not None:
            dialog.on_ack(dialog, ack)
        return True


def _default_in_dialog(dialog: Dialog, tx: ServerTransaction) -> None:
    """Answers for dialogs without an ``on_request`` handler."""
    method = tx.method
    if method == "INVITE":
        # a session refresh: keep the session as is (our last description, if any)
        fields = [("Contact", dialog.local_contact)]
        if dialog.local_body and dialog.local_content_type:
            fields.append(("Content-Type", dialog.local_content_type))
        tx.reply(200, headers=fields, body=dialog.local_body)
        dialog.acked.clear()
    elif method in ("INFO", "OPTIONS"):
        tx.reply(200)
    else:
        tx.reply(405, headers=[("Allow", ALLOWED_IN_DIALOG)])


def _target_of(message: SipRequest | SipResponse, *, fallback: str) -> str:
    # a 2xx with a missing or broken Contact must still be ACKed (and can be BYEd): fall back
    try:
        contacts = message.contacts
    except SipParseError:
        contacts = []
    if not contacts:
        log.info("no usable Contact in %r: keeping %s as remote target", message, fallback)
        return fallback
    return str(contacts[0].uri)


def _contact_value(contact: str) -> str:
    return contact if "<" in contact else f"<{contact}>"
