"""The registrar's credential source: phones' SIP passwords from the in-memory directory."""

from sipline.services.directory import Directory, SipCredential
from sipline.sip.credentials import Cache, CachedCredential, Credential


class DirectoryCredentials:
    """Looked up on every REGISTER; sipReset and account locks invalidate the directory, so they
    apply at the phone's next registration."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    def cached(self, username: str) -> CachedCredential:
        found = self._directory.cached_sip_credential(username)
        return Cache.MISS if found is None else _credential(found)

    async def lookup(self, username: str) -> Credential | None:
        found = await self._directory.sip_credential(username)
        return None if found is None else _credential(found)


def _credential(found: SipCredential) -> Credential:
    return Credential(username=found.account, password=found.password, enabled=found.enabled)
