"""field.Error texts and the apimachinery validators they carry, worded as the API server words them.

Texts: k8s.io/apimachinery/pkg/util/validation/field/errors.go `Error.ErrorBody` (strings quoted,
numbers bare, `: detail` after). Validators: k8s.io/apimachinery/pkg/util/validation/validation.go
(IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label, IsQualifiedName, IsValidLabelValue,
IsValidPortNum, IsValidPortName, IsEnvVarName, IsConfigMapKey, IsValidPercent) at 1.31.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class NativeFinding:
    """One refusal: the JSON path, the API server's message, and the ID of the check."""

    json_path: str
    message: str
    check_id: str


def jpath(path: Path_) -> str:
    """`$.spec.ports[0].port`."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def shown(value: Any) -> str:
    """A bad value as field.Error prints it: strings quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return '"object"' if isinstance(value, Mapping) else '"array"'


def invalid(value: Any, detail: str) -> str:
    """field.Invalid."""
    return f"Invalid value: {shown(value)}: {detail}"


def required(detail: str = "") -> str:
    """field.Required."""
    return f"Required value: {detail}" if detail else "Required value"


def duplicate(value: Any) -> str:
    """field.Duplicate."""
    return f"Duplicate value: {shown(value)}"


def forbidden(detail: str) -> str:
    """field.Forbidden."""
    return f"Forbidden: {detail}"


def not_supported(value: Any, supported: Iterable[str]) -> str:
    """field.NotSupported."""
    return f"Unsupported value: {shown(value)}: supported values: " + ", ".join(f'"{s}"' for s in supported)


def too_long(limit: int) -> str:
    """field.TooLong as of 1.31 (the value is not printed)."""
    return f"Too long: must have at most {limit} bytes"


# -- apimachinery/pkg/util/validation/validation.go ---------------------------------------------

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + "(\\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = "(" + QUALIFIED_NAME + ")?"
ENV_VAR_NAME = "[-._a-zA-Z][-._a-zA-Z0-9]*"
CONFIG_KEY = "[-._a-zA-Z0-9]+"
PERCENT = "[0-9]+%"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """validation.go `RegexError`."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown_examples = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown_examples}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    """validation.go `MaxLenError`."""
    return f"must be no more than {length} characters"


def _full(fmt: str, value: str) -> bool:
    return re.fullmatch(fmt, value) is not None


def dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label."""
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _full(DNS1123_LABEL, value):
        if _full(DNS1123_SUBDOMAIN, value):
            errors.append("must not contain dots")
        else:
            errors.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start"
                " and end with an alphanumeric character", DNS1123_LABEL, "my-name", "123-abc"))
    return errors


def dns1123_subdomain(value: str) -> list[str]:
    """IsDNS1123Subdomain."""
    errors = [max_len_error(253)] if len(value) > 253 else []
    if not _full(DNS1123_SUBDOMAIN, value):
        errors.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must"
            " start and end with an alphanumeric character", DNS1123_SUBDOMAIN, "example.com"))
    return errors


def dns1035_label(value: str) -> list[str]:
    """IsDNS1035Label."""
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _full(DNS1035_LABEL, value):
        errors.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic"
            " character, and end with an alphanumeric character", DNS1035_LABEL, "my-name", "abc-123"))
    return errors


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: `[prefix/]name`, the syntax of label and annotation keys."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric"
            " character", QUALIFIED_NAME, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors += [f"prefix part {m}" for m in dns1123_subdomain(prefix)]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + max_len_error(63))
    if name and not _full(QUALIFIED_NAME, name):
        errors.append("name part " + regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric"
            " character", QUALIFIED_NAME, "MyName", "my.name", "123-abc"))
    return errors


def label_value(value: str) -> list[str]:
    """IsValidLabelValue."""
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _full(LABEL_VALUE, value):
        errors.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must"
            " start and end with an alphanumeric character", LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errors


def port_number(value: int) -> list[str]:
    """IsValidPortNum."""
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def port_name(value: str) -> list[str]:
    """IsValidPortName (IANA_SVC_NAME)."""
    errors = ["must be no more than 15 characters"] if len(value) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def _dot_prefix(value: str) -> list[str]:
    """validation.go `hasChDirPrefix`."""
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    return ["must not start with '..'"] if value.startswith("..") else []


def env_var_name(value: str, relaxed: bool) -> list[str]:
    """IsEnvVarName, or IsRelaxedEnvVarName where RelaxedEnvironmentVariableValidation is on (1.32+)."""
    if relaxed:
        ok = all(" " <= ch <= "~" and ch != "=" for ch in value)
        return [] if ok else ["a valid environment variable name must consist only of printable ASCII characters"
                              " other than '='"]
    errors = [] if _full(ENV_VAR_NAME, value) else [regex_error(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must"
        " not start with a digit", ENV_VAR_NAME, "my.env-name", "MY_ENV.NAME", "MyEnvName1")]
    return errors + _dot_prefix(value)


def config_key(value: str) -> list[str]:
    """IsConfigMapKey: keys of ConfigMaps and Secrets."""
    errors = [max_len_error(253)] if len(value) > 253 else []
    if not _full(CONFIG_KEY, value):
        errors.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                  CONFIG_KEY, "key.name", "KEY_NAME", "key-name"))
    return errors + _dot_prefix(value)


def percent(value: str) -> list[str]:
    """IsValidPercent."""
    return [] if _full(PERCENT, value) else [regex_error(
        "a valid percent string must be a numeric string followed by an ending '%'", PERCENT, "1%", "93%")]
