from sipline.domain.signing import compute_sign, sign_matches, timestamp_within_window


def test_vendor_worked_example() -> None:
    # Published by the vendor: md5("bDqJFiq9" + "7bz1lzh9" + "1630468800").
    assert compute_sign("bDqJFiq9", "7bz1lzh9", "1630468800") == "05d7a50893e22a5c4bb3216ae3396c7c"


def test_sign_comparison_ignores_case_and_rejects_other_values() -> None:
    assert sign_matches("05d7a50893e22a5c4bb3216ae3396c7c", "05D7A50893E22A5C4BB3216AE3396C7C")
    assert not sign_matches("05d7a50893e22a5c4bb3216ae3396c7c", "05d7a50893e22a5c4bb3216ae3396c7d")
    assert not sign_matches("05d7a50893e22a5c4bb3216ae3396c7c", "")


def test_timestamp_window() -> None:
    assert timestamp_within_window("1000", 1300, 300)
    assert timestamp_within_window("1600", 1300, 300)
    assert not timestamp_within_window("999", 1300, 300)
    assert not timestamp_within_window("1601", 1300, 300)
    for bad in ("", "-5", "12.5", "abc", "1" * 40):
        assert not timestamp_within_window(bad, 1300, 300)
