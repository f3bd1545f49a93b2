"""Outbound trunks: where callee legs go, how the number is rewritten and how caller ID is sent."""

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote


class CallerIdMode(StrEnum):
    """Which header carries displayNum to the carrier."""

    FROM = "from"  # From user part only
    PAI = "pai"  # From and P-Asserted-Identity (RFC 3325)
    RPID = "rpid"  # From and Remote-Party-ID (legacy carriers)


TRANSPORTS = ("udp", "tcp")


@dataclass(frozen=True)
class Trunk:
    name: str
    host: str
    port: int = 5060
    transport: str = "udp"
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs
    realm: str | None = None  # answer only challenges of this realm (None: any)
    prefix: str = ""  # added in front of the number after stripping
    strip: int = 0  # leading digits removed from the callee number
    caller_id: CallerIdMode = CallerIdMode.FROM
    domain: str | None = None  # host part of the Request-URI and To (default: host)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a trunk needs a name")
        if not self.host:
            raise ValueError(f"trunk {self.name}: host is missing")
        if not 0 < self.port < 65536:
            raise ValueError(f"trunk {self.name}: port {self.port} is out of range")
        if self.transport not in TRANSPORTS:
            raise ValueError(f"trunk {self.name}: transport must be one of {', '.join(TRANSPORTS)}")
        if self.strip < 0:
            raise ValueError(f"trunk {self.name}: strip must not be negative")
        if self.prefix and not all(c.isdigit() or c in "+*#" for c in self.prefix):
            raise ValueError(f"trunk {self.name}: prefix must be digits (or + * #)")
        if (self.username is None) != (self.password is None):
            raise ValueError(f"trunk {self.name}: username and password go together")

    def dialled_number(self, callee: str) -> str:
        """The callee number as the carrier wants it: strip leading digits, then add the prefix."""
        return self.prefix + callee[self.strip :]

    @property
    def uri_host(self) -> str:
        return self.domain or self.host


def parse_trunk_uri(name: str, uri: str) -> Trunk:
    """A trunk written as one URI, for environment variables and the command line:

    sip:USER:PASSWORD@HOST:PORT;transport=udp;prefix=00;strip=1;realm=R;caller_id=pai;domain=D
    """
    text = uri.strip()
    if not text.lower().startswith("sip:"):
        raise ValueError(f"trunk {name}: {uri!r} must start with sip:")
    address, *params = text[4:].split(";")
    options: dict[str, str] = {}
    for param in params:
        key, equals, value = param.partition("=")
        if not equals:
            raise ValueError(f"trunk {name}: parameter {param!r} needs a value")
        options[key.strip().lower()] = unquote(value.strip())
    unknown = set(options) - _URI_PARAMS
    if unknown:
        raise ValueError(f"trunk {name}: unknown parameters {', '.join(sorted(unknown))}")
    userinfo, at, hostport = address.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username, password = unquote(user), (unquote(secret) if colon else "")
    host, colon, port = hostport.partition(":")
    try:
        return Trunk(
            name=name,
            host=host,
            port=int(port) if colon else 5060,
            transport=options.get("transport", "udp").lower(),
            username=username,
            password=password,
            realm=options.get("realm"),
            prefix=options.get("prefix", ""),
            strip=int(options.get("strip", "0")),
            caller_id=CallerIdMode(options.get("caller_id", "from").lower()),
            domain=options.get("domain"),
        )
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith("trunk ") else f"trunk {name}: {message}") from None


_URI_PARAMS = frozenset({"transport", "realm", "prefix", "strip", "caller_id", "domain"})


@dataclass
class TrunkRoutes:
    """Which trunk an app's callee legs take: its own if configured, else the default."""

    default: str
    by_app: dict[str, str]
    trunks: dict[str, Trunk]

    def for_app(self, app_id: str) -> Trunk | None:
        return self.trunks.get(self.by_app.get(app_id, self.default))
