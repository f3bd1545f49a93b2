"""The English-only stand-in for libphonenumber's prefix data gives phonenumbers' own English answers,
in a tenth of the memory."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import phonenumbers

from sipline.domain.destination import destination_code

REFERENCE = """
import json, sys
import phonenumbers
from phonenumbers import carrier, geocoder
answers = []
for callee in json.load(sys.stdin):
    number = phonenumbers.parse("+" + callee, None)
    answers.append([geocoder.country_name_for_number(number, "en"),
                    geocoder.description_for_number(number, "en"), carrier.name_for_number(number, "en")])
print(json.dumps(answers))
"""


def sample_numbers() -> list[str]:
    """Numbers of every country code: the example numbers of each region and type, and random ones."""
    chosen = random.Random(9)
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.add(f"{example.country_code}{example.national_number}")
                digits = str(example.national_number)
                for _ in range(5):
                    kept = chosen.randint(1, len(digits))
                    tail = "".join(chosen.choice("0123456789") for _ in digits[kept:])
                    numbers.add(f"{example.country_code}{digits[:kept]}{tail}")
    return sorted(numbers)


def test_names_match_phonenumbers_with_its_whole_data() -> None:
    from sipline.domain.destination import carrier, geocoder

    numbers = sample_numbers()
    assert len(numbers) > 2000
    reference = [sys.executable, "-c", REFERENCE]
    done = subprocess.run(reference, input=json.dumps(numbers), capture_output=True, text=True, check=True)
    expected = json.loads(done.stdout)
    ours = []
    for callee in numbers:
        number = phonenumbers.parse("+" + callee, None)
        ours.append(
            [
                geocoder.country_name_for_number(number, "en"),
                geocoder.description_for_number(number, "en"),
                carrier.name_for_number(number, "en"),
            ]
        )
    assert ours == expected
    assert sum(1 for answer in expected if answer[1] and answer[1] != answer[0]) > 500  # regions were found


def test_the_stand_in_holds_english_names_only() -> None:
    destination_code("442079469000")
    table = sys.modules["phonenumbers.geodata"].GEOCODE_DATA
    assert {language for names in table.values() for language in names} == {"en"}
    assert "phonenumbers.geodata.data0" not in sys.modules  # each data file was dropped once read
