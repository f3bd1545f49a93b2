import stat
from decimal import Decimal
from pathlib import Path

import pytest

from sipline.store.secretbox import SecretBox, SecretBoxError
from sipline.store.types import Money


def test_money_roundtrip_is_exact() -> None:
    money = Money()
    stored = money.process_bind_param(Decimal("1.2793"), None)  # type: ignore[arg-type]
    assert stored == 12793
    assert money.process_result_value(stored, None) == Decimal("1.2793")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        money.process_bind_param(Decimal("0.00001"), None)  # type: ignore[arg-type]


def test_secret_box_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    box = SecretBox.from_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.encrypt("LX9FZdF2")
    assert "LX9FZdF2" not in sealed
    assert box.encrypt("LX9FZdF2") != sealed  # a fresh nonce every time
    assert SecretBox.from_key_file(key_file).decrypt(sealed) == "LX9FZdF2"


def test_secret_box_refuses_wrong_key_and_tampering(tmp_path: Path) -> None:
    sealed = SecretBox.from_key_file(tmp_path / "a.key").encrypt("secret")
    with pytest.raises(SecretBoxError):
        SecretBox.from_key_file(tmp_path / "b.key").decrypt(sealed)
    with pytest.raises(SecretBoxError):
        SecretBox.from_key_file(tmp_path / "a.key").decrypt(sealed[:-4] + "AAAA")
    with pytest.raises(SecretBoxError):
        SecretBox.from_base64("too-short")
