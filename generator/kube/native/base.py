"""What every native check works with: a Check (ID, kinds, the Kubernetes function it follows), safe accessors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeGuard

from generator.capacity.quantity import QuantityError, parse_quantity
from generator.kube.native.field import Path_, forbidden, invalid, label_value, percent, qualified_name, required

Problem = tuple[Path_, str]  # where, and the API server's message


@dataclass(frozen=True)
class Context:
    """What a check may depend on besides the object: the Kubernetes minor it checks against."""

    minor: int = 31


@dataclass(frozen=True)
class Check:
    """One native check: its ID, the kinds it applies to (empty: every kind), and the function it follows."""

    id: str
    kinds: frozenset[str]
    run: Callable[[Mapping[str, Any], Context], Iterator[Problem]]
    source: str  # the Kubernetes validation function, as `package.Function`


def as_dict(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (the schema check reports wrong types)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """The value if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def is_int(value: Any) -> TypeGuard[int]:
    """An integer that is not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def quantity(value: Any) -> Decimal | None:
    """A quantity's value, None when it does not parse (the resource-quantity rule reports that)."""
    if is_int(value) or isinstance(value, float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def nonnegative(value: Any, path: Path_) -> Iterator[Problem]:
    """core/validation `ValidateNonnegativeField`."""
    if is_int(value) and value < 0:
        yield path, invalid(value, "must be greater than or equal to 0")


def labels(values: Any, path: Path_) -> Iterator[Problem]:
    """meta/v1/validation `ValidateLabels`: qualified-name keys, label values (both reported at the map)."""
    for key, value in as_dict(values).items():
        for message in qualified_name(str(key)):
            yield path, invalid(key, message)
        if isinstance(value, str):
            for message in label_value(value):
                yield path, invalid(value, message)


SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def label_selector(selector: Any, path: Path_) -> Iterator[Problem]:
    """meta/v1/validation `ValidateLabelSelector`: matchLabels and matchExpressions."""
    selector = as_dict(selector)
    yield from labels(selector.get("matchLabels"), (*path, "matchLabels"))
    for index, expression in enumerate(map(as_dict, as_list(selector.get("matchExpressions")))):
        where = (*path, "matchExpressions", index)
        operator, values = expression.get("operator"), as_list(expression.get("values"))
        if operator in ("In", "NotIn") and not values:
            yield (*where, "values"), required("must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist") and values:
            yield (*where, "values"), forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        elif operator not in SELECTOR_OPERATORS:
            yield (*where, "operator"), invalid(operator, "not a valid selector operator")
        for message in qualified_name(str(expression.get("key", ""))):
            yield (*where, "key"), invalid(expression.get("key", ""), message)


def selector_matches(selector: Mapping[str, Any], template_labels: Mapping[str, Any]) -> bool:
    """Whether a LabelSelector selects the labels (labels.Selector.Matches)."""
    for key, value in as_dict(selector.get("matchLabels")).items():
        if template_labels.get(key) != value:
            return False
    for expression in map(as_dict, as_list(selector.get("matchExpressions"))):
        name, operator, values = str(expression.get("key")), expression.get("operator"), as_list(expression.get("values"))
        present = name in template_labels
        if operator == "In" and not (present and template_labels[name] in values):
            return False
        if operator == "NotIn" and present and template_labels[name] in values:
            return False
        if (operator == "Exists") != present and operator in ("Exists", "DoesNotExist"):
            return False
    return True


def int_or_percent(value: Any, path: Path_, at_most_100: bool = False) -> Iterator[Problem]:
    """apps/validation `ValidatePositiveIntOrPercent` (and `IsNotMoreThan100Percent`)."""
    if isinstance(value, str):
        messages = percent(value)
        for message in messages:
            yield path, invalid(value, message)
        if at_most_100 and not messages and int(value[:-1]) > 100:
            yield path, invalid(value, "must not be greater than 100%")
    elif is_int(value):
        yield from nonnegative(value, path)


def int_or_percent_value(value: Any) -> int | None:
    """The number of an int-or-percent (`25%` → 25), None when it is neither."""
    if is_int(value):
        return int(value)
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return None

