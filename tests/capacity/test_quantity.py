"""Kubernetes quantities, parsed exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator.capacity.quantity import (
    QuantityError,
    format_bytes,
    parse_bytes,
    parse_cpu,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("4Gi", 4 * 2**30),
    ("512Mi", 512 * 2**20),
    ("1Ki", 1024),
    ("2Ti", 2 * 2**40),
    ("1G", 10**9),
    ("806M", 806 * 10**6),
    ("5k", 5000),
    ("123", 123),
    (123, 123),
    ("1.5Gi", 3 * 2**29),
    ("1e3", 1000),
    ("1E6", 10**6),
    ("128974848000m", 128974848),  # milli-bytes are legal; the kubelet rounds them up
    ("1m", 1),
    (" 64Mi ", 64 * 2**20),
])
def test_parse_bytes(text: str | int, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2", Decimal(2)),
    ("1200m", Decimal("1.2")),
    ("500m", Decimal("0.5")),
    ("0.5", Decimal("0.5")),
    (2, Decimal(2)),
    (1.5, Decimal("1.5")),
    ("100u", Decimal("0.0001")),
])
def test_parse_cpu(text: str | float, expected: Decimal) -> None:
    assert parse_cpu(text) == expected


@pytest.mark.parametrize("text", ["", "Gi", "4GB", "4 Gi", "four", "4gi", "1.2.3", "--1", "0x10", "4Gii"])
def test_not_a_quantity(text: str) -> None:
    with pytest.raises(QuantityError, match="not a Kubernetes quantity"):
        parse_quantity(text)


@pytest.mark.parametrize("parse", [parse_bytes, parse_cpu])
def test_negative_is_refused(parse: object) -> None:
    with pytest.raises(QuantityError, match="negative"):
        parse("-1Gi")  # type: ignore[operator]


@pytest.mark.parametrize(("count", "expected"), [
    (0, "0.0 MiB"), (38 * 2**20, "38.0 MiB"), (2**30, "1.00 GiB"), (4 * 2**30 + 2**29, "4.50 GiB"),
])
def test_format_bytes(count: int, expected: str) -> None:
    assert format_bytes(count) == expected
