"""The platform's event stream: calls publish domain events, several subscribers consume them.

Publishing is a plain synchronous loop over the subscribers, on the event loop, in the caller's hot
path (the B2BUA's SIP events): a subscriber must only take note (append to a queue, set a flag) and
never block or await. A subscriber that raises is logged and the others still get the event: a
webhook's bug cannot break a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sipline.events.domain import CallEvent

log = logging.getLogger("sipline.events")

Subscriber = Callable[[CallEvent], None]


class EventStream:
    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.published = 0  # events published (metrics)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def publish(self, event: CallEvent) -> None:
        self.published += 1
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("an event subscriber failed on %s", type(event).__name__)
