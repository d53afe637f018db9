"""Quantities with units, for numeric quiz answers: a small table, not a units library.

A numeric item declares its dimension through a concrete unit (``unit = "ms"``); the learner may
answer in any unit of that dimension ("0.5 s", "500ms", "2k req/s", "~50", "20/s"). The answer is
converted to the item's unit before grading, and an answer in another dimension ("20 ms" for a
size) is refused, never relabelled. pint would do the same but costs ~0.3 s to import on every
``labctl`` start; the handful of units the lessons use fit in the table below, and each has a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    symbol: str                      # how labctl writes it: "ms", "MB", "req/s"
    dimension: str                   # time | size | rate | ratio | count
    factor: float                    # how many of the dimension's base unit one of these is


# dimension → (its base unit, an example answer, the units a lesson file may declare)
DIMENSIONS = {
    "time": ("s", "0.5 s or 500 ms"),
    "size": ("B", "1.5 MB or 512 KiB"),
    "rate": ("req/s", "2000 req/s or 2k req/s"),
    "ratio": ("x", "50% or 2x"),
    "count": ("", "50"),
}

# The units a lesson's numeric item may declare (lessons/FORMAT.md lists them), in the spelling
# labctl prints. "" is a bare count.
FILE_UNITS: dict[str, Unit] = {u.symbol: u for u in (
    Unit("ns", "time", 1e-9), Unit("µs", "time", 1e-6), Unit("us", "time", 1e-6),
    Unit("ms", "time", 1e-3), Unit("s", "time", 1.0), Unit("min", "time", 60.0),
    Unit("B", "size", 1.0), Unit("KB", "size", 1e3), Unit("MB", "size", 1e6), Unit("GB", "size", 1e9),
    Unit("KiB", "size", 2.0 ** 10), Unit("MiB", "size", 2.0 ** 20), Unit("GiB", "size", 2.0 ** 30),
    Unit("req/s", "rate", 1.0),
    Unit("%", "ratio", 0.01), Unit("x", "ratio", 1.0),
    Unit("", "count", 1.0),
    *(Unit(noun, "count", 1.0) for noun in ("connections", "requests", "goroutines", "threads",
                                             "workers", "processes", "cores", "headers", "routes")),
)}

# Further spellings a learner may type, matched case-insensitively (after the exact spellings
# above, so "MB" and "mb" both mean megabytes, and "Ms" is not mistaken for anything).
_ALIASES: dict[str, str] = {
    "nanosecond": "ns", "nanoseconds": "ns", "nsec": "ns",
    "μs": "µs", "usec": "µs", "microsecond": "µs", "microseconds": "µs",
    "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "b": "B", "byte": "B", "bytes": "B",
    "kb": "KB", "kilobyte": "KB", "kilobytes": "KB",
    "mb": "MB", "megabyte": "MB", "megabytes": "MB",
    "gb": "GB", "gigabyte": "GB", "gigabytes": "GB",
    "kib": "KiB", "mib": "MiB", "gib": "GiB",
    "/s": "req/s", "req/s": "req/s", "reqs/s": "req/s", "req/sec": "req/s", "requests/s": "req/s",
    "requests/sec": "req/s", "r/s": "req/s", "rps": "req/s", "qps": "req/s",
    "requests per second": "req/s", "per second": "req/s", "a second": "req/s",
    "request/s": "req/s", "requests/second": "req/s", "request/second": "req/s", "req/second": "req/s",
    "reqs/sec": "req/s", "requests a second": "req/s", "req per second": "req/s",
    "requests per sec": "req/s", "per sec": "req/s", "/sec": "req/s", "/second": "req/s",
    "req/min": "req/min", "reqs/min": "req/min", "requests/min": "req/min", "request/min": "req/min",
    "req/minute": "req/min", "requests/minute": "req/min", "requests per minute": "req/min",
    "req per minute": "req/min", "per minute": "req/min", "a minute": "req/min",
    "requests a minute": "req/min", "/min": "req/min", "/minute": "req/min", "rpm": "req/min",
    "percent": "%", "per cent": "%", "×": "x", "times": "x",
    "connection": "connections", "conns": "connections", "conn": "connections",
    "request": "requests", "reqs": "requests", "goroutine": "goroutines", "thread": "threads",
    "worker": "workers", "process": "processes", "core": "cores", "cpus": "cores", "cpu": "cores",
    "header": "headers", "route": "routes",
}
# Units a learner may answer in that no lesson declares: hours, and rates per minute.
_EXTRA_UNITS = {"h": Unit("h", "time", 3600.0), "req/min": Unit("req/min", "rate", 1 / 60)}

# The other scales a bare number may have been meant in, by dimension: "5000" on a seconds item
# fits milliseconds, "0.999" on a percent item fits a plain fraction. Counts have none.
SCALES: dict[str, tuple[str, ...]] = {
    "time": ("ns", "µs", "ms", "s", "min"),
    "size": ("B", "KB", "MB", "GB", "KiB", "MiB", "GiB"),
    "rate": ("req/s", "req/min"),
    "ratio": ("%", "x"),
}

# A magnitude written straight after the number: "2k req/s", "1.5M requests".
_MAGNITUDES = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}

_APPROXIMATELY = re.compile(r"^(?:~|≈|about\b|around\b|approx(?:imately)?\.?\b|roughly\b|circa\b|ca\.)\s*",
                            re.IGNORECASE)
_NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class QuantityError(ValueError):
    """Text that is not one quantity (the message says what to type instead)."""


class WrongDimension(QuantityError):
    """A quantity of another kind than the one asked for ("20 ms" when a size is asked)."""


@dataclass(frozen=True)
class Quantity:
    value: float                     # in ``unit``
    unit: Unit
    written: str                     # the unit as the learner wrote it ("" if bare)

    def to(self, target: Unit) -> float:
        if target.dimension != self.unit.dimension:
            raise WrongDimension(f"that is {describe(self.unit.dimension)}; give {describe(target.dimension)}")
        return self.value * self.unit.factor / target.factor


def describe(dimension: str) -> str:
    return {"time": "a time", "size": "a size", "rate": "a rate", "ratio": "a ratio",
            "count": "a plain number"}[dimension]


def other_scales(target: Unit) -> list[Unit]:
    """The units of ``target``'s dimension, other than ``target`` itself, a bare number could
    have been meant in."""
    symbols = SCALES.get(target.dimension, ())
    found = [FILE_UNITS.get(symbol) or _EXTRA_UNITS[symbol] for symbol in symbols]
    return [unit for unit in found if unit.factor != target.factor]


def file_unit(symbol: str) -> Unit | None:
    """The unit a lesson file declares, or None if it is not one a lesson may use."""
    return FILE_UNITS.get(symbol.strip())


def lookup(text: str) -> Unit | None:
    """Any spelling of a unit a learner may type; None if unknown."""
    cleaned = " ".join(text.split())
    if cleaned in FILE_UNITS:
        return FILE_UNITS[cleaned]
    folded = cleaned.lower()
    for symbol, unit in FILE_UNITS.items():
        if symbol.lower() == folded:
            return unit
    target = _ALIASES.get(folded) or _ALIASES.get(cleaned)
    if target is None:
        return None
    return FILE_UNITS.get(target) or _EXTRA_UNITS.get(target)


def parse(text: str) -> Quantity:
    """One number with an optional magnitude and unit: "0.5 s", "500ms", "2k req/s", "~50",
    "20/s", "1,500 MB", "50 %". A bare number comes back with the count unit."""
    cleaned = text.strip().rstrip(".!").strip()
    cleaned = _APPROXIMATELY.sub("", cleaned)
    match = _NUMBER.match(cleaned)
    if not match:
        raise QuantityError("give one number, e.g. 20")
    try:
        number = float(match.group(0).replace(",", "").replace("_", ""))
    except ValueError:
        raise QuantityError("give one number, e.g. 20") from None
    rest = cleaned[match.end():].strip()
    if not rest:
        return Quantity(number, FILE_UNITS[""], "")
    unit = lookup(rest)
    if unit is not None:
        return Quantity(number, unit, rest)
    if rest[0] in _MAGNITUDES:
        after = rest[1:].strip()
        unit = lookup(after) if after else FILE_UNITS[""]
        if unit is not None and unit.dimension in ("rate", "count"):
            return Quantity(number * _MAGNITUDES[rest[0]], unit, after)
    if any(ch.isdigit() for ch in rest):
        raise QuantityError("give one number, not a range or a sum, e.g. 20")
    raise QuantityError(f"'{rest}' is not a unit labctl knows")


def convert(quantity: Quantity, target: Unit) -> float:
    """The quantity in ``target``'s unit. A bare number is taken to be in the target's unit
    already (the question says which unit it wants); any other dimension is refused."""
    if quantity.unit.symbol == "" and quantity.written == "":
        return quantity.value
    if target.dimension == "count" and quantity.unit.dimension == "count":
        return quantity.value
    return quantity.to(target)


def format_value(value: float) -> str:
    """A number as a person writes it, to six significant digits: 500, 0.812, 2000000, 1.5e-08."""
    rounded = float(f"{value:.6g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    if abs(rounded) >= 1e-6:
        return f"{rounded:.12f}".rstrip("0").rstrip(".")
    return f"{rounded:.6g}"


def format_quantity(value: float, unit: str) -> str:
    if not unit:
        return format_value(value)
    joiner = "" if unit in ("%", "x") else " "
    return f"{format_value(value)}{joiner}{unit}"
