"""Phone groups: what one sipAdd call creates."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NewPhoneGroup:
    """A validated request for `quantity` phones named `<phone_name>-1 .. <phone_name>-N`."""

    group_name: str
    phone_name: str
    quantity: int
    display_num: str

    def phone_names(self) -> list[str]:
        return [f"{self.phone_name}-{index}" for index in range(1, self.quantity + 1)]


# sipline's additions to the vendor's phone record, for a phone with no live registration.
UNREGISTERED: dict[str, object] = {"registered": False, "registrationExpires": None, "userAgent": None}
