"""Calls dialled on a handset: a registered phone's INVITE, authenticated, routed, rated, placed.

``HandsetCalls.on_invite`` is the SIP server's ``on_invite``. For each new INVITE, in this order
(each refusal is a SIP answer, and nothing is written or rung before it passes):

1. Request-URI for a domain of this platform, else ``403`` (no relaying to other domains);
2. the phone authenticates (sip/invite_auth.py: ``407``; ``403`` for a wrong password, a From that is
   not the authenticated phone, or a source the phone is not registered from);
3. what was dialled: another phone of the same app (its SIP account, or ``*`` and its position in the
   app's phone list) rings that phone, ``486`` when it is in a call, ``480`` when not registered;
   anything else is a number read by the app's dial plan (domain/dial_plan.py; ``484`` when it is
   none), rated by the rate book as sendSip's callee (``404`` without a rate) and sent through the
   app's trunk (``503`` without one);
4. the calling phone must not be in a call (``486``);
5. the account's fraud limits (billing/limits.py ``CallAdmission``, as sendSip's: destination
   prefixes, calls up, calls a second, daily spend; ``403`` with the limit's reason) for calls out;
6. accepted exactly as sendSip (``CallService.accept_call``): the first billing period reserved, the
   record written with its origin; ``402`` when the balance cannot pay it. The reservation then
   follows the call (billing/reservations.py) as a sendSip call's does.

Then the ``HandsetCall`` runs as any call of the ``CallService`` (busy state, heartbeat, shutdown).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sipline.billing.limits import Admission
from sipline.billing.rating import BillingPeriod, Rate
from sipline.calls.b2bua import B2buaCall, CallSetup
from sipline.calls.callee_route import CalleeRoute, ColleagueRoute, TrunkRoute
from sipline.calls.handset_call import HandsetCall
from sipline.calls.observer import CallObserver
from sipline.calls.send_sip import CallOrder, CallService, PhoneRow
from sipline.calls.targets import CalleeTarget, PhoneTarget
from sipline.domain.call_origin import CallOrigin
from sipline.domain.dial_plan import DialPlan, normalise
from sipline.domain.errors import ApiError
from sipline.domain.status import Status
from sipline.services.auth import Caller
from sipline.services.directory import AppPhones, Directory
from sipline.sip.errors import SipParseError
from sipline.sip.server import SipServer
from sipline.sip.transaction import ServerTransaction

log = logging.getLogger("sipline.calls")

EXTENSION_MARK = "*"  # "*3" dials the app's third phone (sipQuery's order)
ON_NET_CODE = "on-net"  # the record's code of a call between two phones of an app
ON_NET_PERIOD = BillingPeriod(60, 60)
RELAYING_FORBIDDEN = "Forbidden (relaying to other domains is not allowed)"


class Refused(Exception):
    """A SIP answer refusing the INVITE."""

    def __init__(self, status: int, reason: str | None = None) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class HandsetSettings:
    plan: DialPlan
    app_plans: dict[str, DialPlan]
    on_net_rate: Decimal = Decimal(0)

    def plan_for(self, app_id: str) -> DialPlan:
        return self.app_plans.get(app_id, self.plan)


class HandsetCalls:
    def __init__(
        self,
        service: CallService,
        sip: SipServer,
        directory: Directory,
        settings: HandsetSettings,
    ) -> None:
        self._service = service
        self._sip = sip
        self._auth = sip.invite_auth
        sip.authenticate_invites = True  # the 407 for INVITEs without credentials, statelessly
        self._directory = directory
        self.settings = settings
        self.refused: dict[int, int] = {}  # INVITEs refused, by SIP status (metrics, tests)

    def on_invite(self, tx: ServerTransaction) -> None:
        self._service.background.spawn(self._handle(tx, datetime.now(UTC)))

    async def _handle(self, tx: ServerTransaction, received: datetime) -> None:
        try:
            await self._place(tx, received)
        except Refused as refused:
            self.refused[refused.status] = self.refused.get(refused.status, 0) + 1
            tx.reply(refused.status, refused.reason)
        except SipParseError as exc:
            tx.reply(400, f"Bad Request ({exc})"[:100])
        except Exception:
            log.exception("INVITE from %s failed", tx.flow.remote_addr)
            tx.reply(500)

    async def _place(self, tx: ServerTransaction, received: datetime) -> None:
        request = tx.request
        if not self._sip.serves(request.request_uri.host, tx.flow):
            raise Refused(403, RELAYING_FORBIDDEN)  # before authenticating: nothing to learn here
        account = await self._auth.caller(tx)
        if account is None:
            return  # answered (407, 403) or dropped (banned)
        credential = await self._directory.sip_credential(account)
        app = None if credential is None else await self._directory.app_phones(credential.app_id)
        record = None if app is None else app.phone(account)
        if credential is None or app is None or record is None:
            raise Refused(403, "Forbidden (the phone no longer exists)")
        caller = PhoneRow(account, record["phoneName"], record["groupName"], app.app_pk)
        dialled = request.request_uri.user or ""
        if dialled == account:
            raise Refused(482, "Loop Detected (a phone cannot call itself)")
        colleague = _colleague(app, dialled, account)
        if colleague is not None:
            await self._phone_to_phone(tx, caller, app, credential.app_id, colleague, received)
        else:
            await self._outside(
                tx, caller, app, credential.app_id, dialled, str(record["displayNum"]), received
            )

    async def _outside(
        self,
        tx: ServerTransaction,
        caller: PhoneRow,
        app: AppPhones,
        app_id: str,
        dialled: str,
        display_num: str,
        received: datetime,
    ) -> None:
        try:
            number = normalise(self.settings.plan_for(app_id), dialled)
        except ValueError as exc:
            raise Refused(484, f"Address Incomplete ({exc})"[:100]) from None
        trunk = self._service.routes.for_app(app_id)
        if trunk is None:
            raise Refused(503, "Service Unavailable (no outbound trunk for this app)")
        rate = await self._service.rates.find(app.account_id, number, received)  # the rate book's
        if rate is None:
            raise Refused(404, "Not Found (no rate for this destination)")
        route = TrunkRoute(CalleeTarget(number, display_num, trunk))
        order = CallOrder(number, display_num, caller.account, app_id)
        await self._accept_and_run(tx, caller, app, order, rate, route, CallOrigin.HANDSET, received)

    async def _phone_to_phone(
        self,
        tx: ServerTransaction,
        caller: PhoneRow,
        app: AppPhones,
        app_id: str,
        colleague: str,
        received: datetime,
    ) -> None:
        if self._service.is_busy(colleague):
            raise Refused(486, "Busy Here (the phone is in a call)")
        binding = self._service.registrations.latest(colleague, received)
        if binding is None:
            raise Refused(480, "Temporarily Unavailable (the phone is not registered)")
        route = ColleagueRoute(PhoneTarget(colleague, binding.contact, binding.flow()), caller.account)
        rate = Rate("", self.settings.on_net_rate, ON_NET_PERIOD)
        order = CallOrder(colleague, caller.account, caller.account, app_id)
        await self._accept_and_run(
            tx, caller, app, order, rate, route, CallOrigin.PHONE_TO_PHONE, received, also_busy=(colleague,)
        )

    async def _accept_and_run(
        self,
        tx: ServerTransaction,
        caller: PhoneRow,
        app: AppPhones,
        order: CallOrder,
        rate: Rate,
        route: CalleeRoute,
        origin: CallOrigin,
        received: datetime,
        also_busy: tuple[str, ...] = (),
    ) -> None:
        service = self._service
        if service.is_busy(caller.account):
            raise Refused(486, "Busy Here (the phone is already in a call)")
        claimed = (caller.account, *also_busy)
        service.claim(*claimed)  # before any await: a sendSip for either phone now gets -68
        admission: Admission | None = None
        try:
            if origin is CallOrigin.HANDSET and service.admission is not None:
                # the account's fraud limits, as sendSip's (-80 calls up, -81 rate, -82 spend, -83 prefix)
                admission = await service.admission.admit(
                    app.account_id, order.callee, received, rate.first_period_cost()
                )
            code = ON_NET_CODE if origin is CallOrigin.PHONE_TO_PHONE else None
            terms = await service.accept_call(
                Caller(app.account_id, ""), order, caller, rate, received, origin, code
            )
        except ApiError as error:
            service.unclaim(*claimed)
            if admission is not None:
                admission.release()
            raise _refused(error) from None
        except BaseException:
            service.unclaim(*claimed)
            if admission is not None:
                admission.release()
            raise

        def handset_call(observer: CallObserver, setup: CallSetup) -> B2buaCall:
            return HandsetCall(self._sip, tx, route, observer, setup)

        log.info("handset call %s from %s to %s (%s)", terms.voice_id, caller.account, order.callee, origin)
        started = service.start_call(terms, caller.account, handset_call, received, also_busy=also_busy)
        started.admission = admission


def _refused(error: ApiError) -> Refused:
    """The SIP answer to a call the account cannot place: -10 is 402, a fraud limit 403."""
    if error.status == Status.BALANCE_INSUFFICIENT:
        return Refused(402, "Payment Required (the balance cannot pay this call)")
    return Refused(403, f"Forbidden ({error.reason})"[:100])


def _colleague(app: AppPhones, dialled: str, account: str) -> str | None:
    """The SIP account of the app's phone that ``dialled`` names, if any (never the caller's own)."""
    if dialled.startswith(EXTENSION_MARK) and dialled[1:].isdigit() and len(dialled) <= 8:
        position = int(dialled[1:])
        if 1 <= position <= len(app.records):
            dialled = str(app.records[position - 1]["account"])
    if dialled != account and app.phone(dialled) is not None:
        return dialled
    return None
