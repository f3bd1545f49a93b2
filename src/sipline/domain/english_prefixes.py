"""libphonenumber's geocoder and carrier modules, on the English names of their per-prefix data only.

phonenumbers keeps each prefix's name in every language it has, and importing its geocoder holds about
100 MB (its carrier module 13 MB more) for the life of the process. The API's `code` is English. So
the data files are read here one at a time, only the English names are kept (each distinct name and
its ``{"en": name}`` entry shared), and the result stands in for phonenumbers' data packages before
its geocoder and carrier modules import them: their lookups in English give the same answers. Should
the package's layout ever differ, the whole data is imported as before.
"""

import importlib
import importlib.util
import pkgutil
import sys
import types

_DATA_PACKAGES = (
    ("phonenumbers.geodata", "GEOCODE_DATA", "GEOCODE_LONGEST_PREFIX"),
    ("phonenumbers.carrierdata", "CARRIER_DATA", "CARRIER_LONGEST_PREFIX"),
)


def geocoder_and_carrier() -> tuple[types.ModuleType, types.ModuleType]:
    for package, table, longest in _DATA_PACKAGES:
        if package not in sys.modules:
            _stand_in(package, table, longest)
    return importlib.import_module("phonenumbers.geocoder"), importlib.import_module("phonenumbers.carrier")


def _stand_in(package: str, table: str, longest: str) -> None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return
    module = types.ModuleType(package, "English-only stand-in made by sipline.domain.english_prefixes")
    module.__path__ = list(spec.submodule_search_locations)  # its submodules (locale, dataN) import
    module.__package__ = package
    sys.modules[package] = module
    files = [info.name for info in pkgutil.iter_modules(module.__path__) if info.name[4:].isdigit()]
    files.sort(key=lambda name: int(name[4:]))  # the package's own order: data0, data1, ...
    entries: dict[str, dict[str, str]] = {}  # one shared {"en": name} per distinct name
    english: dict[str, dict[str, str]] = {}
    try:
        for name in files:
            data: dict[str, dict[str, str]] = importlib.import_module(f"{package}.{name}").data
            for prefix, names in data.items():
                if "en" in names:  # a prefix without an English name is skipped by English lookups
                    text = names["en"]
                    english[prefix] = entries.setdefault(text, {"en": text})
            del data
            _forget(module, name)
    except (ImportError, AttributeError, TypeError):
        for name in files:
            _forget(module, name)
        del sys.modules[package]
        return
    setattr(module, table, english)
    setattr(module, longest, max(map(len, english), default=0))


def _forget(package: types.ModuleType, name: str) -> None:
    """Drop a data file once read: the module object is what held all its languages."""
    sys.modules.pop(f"{package.__name__}.{name}", None)
    package.__dict__.pop(name, None)
