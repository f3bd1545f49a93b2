"""Where a callee number goes, as the API's `code`: "Country(Region)", from libphonenumber's data."""

import functools

import phonenumbers

from sipline.domain.english_prefixes import geocoder_and_carrier

UNKNOWN = "Unknown"
geocoder, carrier = geocoder_and_carrier()  # English names only: a tenth of the memory


@functools.lru_cache(maxsize=65536)  # libphonenumber's lookup costs more than the rest of sendSip
def destination_code(callee: str) -> str:
    """E.g. "Afghanistan(Kandahar)", in English; the region falls back to the mobile carrier, then is
    left out."""
    language = "en"
    try:
        number = phonenumbers.parse("+" + callee.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return UNKNOWN
    country = geocoder.country_name_for_number(number, language)
    if not country:
        return UNKNOWN
    region = geocoder.description_for_number(number, language)
    if not region or region == country:
        region = carrier.name_for_number(number, language)
    return f"{country}({region})" if region else country
