"""sipline: a self-hosted cloud SIP phone platform with an ITNIO-compatible voice API."""

__version__ = "0.1.0"
