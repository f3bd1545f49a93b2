"""The media plane: every call's RTP anchored in the platform, behind one port (``port.py``).

``relay/`` is the embedded back-end (an asyncio RTP relay in this process); an external media
server (rtpengine over its ng protocol) implements the same port in the scale-out.
"""
