"""The registrar's credential source: phones' SIP passwords from the in-memory directory."""

from sipline.services.directory import Directory
from sipline.sip.credentials import Credential


class DirectoryCredentials:
    """Looked up on every REGISTER; sipReset and account locks invalidate the directory, so they
    apply at the phone's next registration."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def lookup(self, username: str) -> Credential | None:
        found = await self._directory.sip_credential(username)
        if found is None:
            return None
        return Credential(username=username, password=found.password, enabled=found.enabled)
