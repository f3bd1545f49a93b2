"""The embedded media back-end: an asyncio RTP relay in this process (``EmbeddedMediaPlane``)."""

from sipline.media.relay.plane import EmbeddedMediaPlane

__all__ = ["EmbeddedMediaPlane"]
