"""Kubernetes resource quantities ("4Gi", "1200m", "2") as exact numbers."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

# The suffixes of k8s.io/apimachinery/pkg/api/resource (quantity.go): binary, decimal and milli.
_SUFFIXES: dict[str, Decimal] = {
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"),
    "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")

MiB = 2**20
GiB = 2**30


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | float) -> Decimal:
    """The exact value of a quantity: '4Gi' → 4294967296, '1200m' → 1.2, '1e3' → 1000."""
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity (examples: 4Gi, 512Mi, 2, 1200m)")
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number + (exponent or ""))
    except InvalidOperation as err:  # pragma: no cover - the pattern admits only numbers
        raise QuantityError(f"{value!r} is not a Kubernetes quantity") from err
    return base * _SUFFIXES[suffix or ""]


def parse_bytes(value: str | float) -> int:
    """A memory or storage quantity in whole bytes, rounded up as the kubelet does."""
    amount = parse_quantity(value)
    if amount < 0:
        raise QuantityError(f"{value!r} is negative")
    return math.ceil(amount)


def parse_cpu(value: str | float) -> Decimal:
    """A CPU quantity in cores: '1200m' → 1.2, '2' → 2."""
    amount = parse_quantity(value)
    if amount < 0:
        raise QuantityError(f"{value!r} is negative")
    return amount


def format_bytes(count: int) -> str:
    """A byte count for people: MiB below 1 GiB, GiB above, two decimals."""
    if abs(count) >= GiB:
        return f"{count / GiB:.2f} GiB"
    return f"{count / MiB:.1f} MiB"
