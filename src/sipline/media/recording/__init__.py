"""Call recording: the recorder the relay feeds (``recorder.py``), the mp3 encoder run after hang-up
(``encode.py``) and the recovery of recordings a crash left in the spool (``spool.py``).

A recording in the spool is a directory ``<spool>/<recording_id>/`` holding ``meta.json`` (written
first, so a crash leaves it recoverable) and one mono 16-bit little-endian PCM file per channel.
"""
