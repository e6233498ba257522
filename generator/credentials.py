"""Credentials: refuse values that carry a secret, naming the field and never echoing the value.

Values files are committed to git and rendered into manifests that Argo CD, every clone and every
pull-request reviewer reads, so a token written into one is published. The API key itself never
enters git: it comes from the vault through External Secrets (see `apiKey`). Three checks, on
every string of every layer (keys included):

- a URL with credentials in it: a password (`https://user:pass@host`), or any user name in an
  http(s) URL (`https://x-access-token:ghp_…@github.com`, `https://TOKEN@github.com`); an ssh user
  name such as `git@github.com:org/repo` or `ssh://git@host/…` is not a secret and passes;
- a value shaped like a provider's token (the prefixes below) or a private-key PEM header;
- in a free-form field (a string the schema constrains by neither pattern, enum nor format:
  nodeSelector values, acknowledgement reasons, ...), a long random-looking token.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .problems import KeyPath, Problem, key_path


@dataclass(frozen=True)
class Rule:
    """One shape of secret: its ID (the problem's rule is `secret-<id>`), what it is, and its regex."""

    id: str
    what: str
    pattern: re.Pattern[str]


# Token shapes as the gitleaks rules define them (gitleaks/gitleaks cmd/generate/config/rules:
# github.go, aws.go, slack.go, gitlab.go, openai.go, gcp.go, huggingface.go, privatekey.go).
TOKEN_RULES: tuple[Rule, ...] = (
    Rule("github-token", "a GitHub token", re.compile(r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{22,})")),
    Rule("aws-access-key", "an AWS access key ID", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    Rule("slack-token", "a Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}")),
    Rule("gitlab-token", "a GitLab token", re.compile(r"\bgl(?:pat|ptt|rt|dt)-[0-9A-Za-z_-]{20,}")),
    Rule("openai-key", "an OpenAI or Anthropic API key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-|ant-)?[0-9A-Za-z_-]{20,}")),
    Rule("google-api-key", "a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    Rule("huggingface-token", "a Hugging Face token", re.compile(r"\bhf_[A-Za-z]{34}\b")),
    Rule("private-key", "a private key", re.compile(r"-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----")),
)
# scheme://userinfo@ : everything between `//` and the first `@` before the path.
URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^/?#@\s]*)@")
SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")
# A random-looking token: long, letters of both cases and digits, and near the entropy of random
# base64 (a random 24-character base64 string averages about 4.3 bits a character; English words,
# Kubernetes names and labels stay well under 4). Hex digests are left alone: they are not secrets.
TOKEN_CANDIDATE = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
MIN_ENTROPY_BITS = 4.0
FREE_FORM_EXCLUDES = ("pattern", "enum", "const", "format")
ADVICE = ("secrets do not belong in values: they are committed to git and rendered into manifests "
          "that every reader of the repository sees (the API key comes from the vault: see apiKey)")


@dataclass(frozen=True)
class Finding:
    """Where a secret-looking string is and what it looks like; a key is reported at its map's path,
    so the path never spells the secret."""

    path: KeyPath
    rule: str
    what: str
    in_key: bool = False


def url_credentials(text: str) -> str:
    """What kind of credentials a URL in `text` carries, or '' when none."""
    for match in URL_USERINFO.finditer(text):
        scheme, userinfo = match.group(1).lower(), match.group(2)
        if ":" in userinfo and userinfo.split(":", 1)[1]:
            return "a URL with a password in it"
        if userinfo and scheme not in SSH_SCHEMES:
            return "a URL with credentials in it (a user name before @ in a web URL is where tokens go)"
    return ""


def token_rule(text: str) -> Rule | None:
    """The first provider token shape `text` contains, or None."""
    return next((rule for rule in TOKEN_RULES if rule.pattern.search(text)), None)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def random_looking(text: str) -> bool:
    """Whether `text` holds a long token that looks random (see TOKEN_CANDIDATE)."""
    for token in TOKEN_CANDIDATE.findall(text):
        mixed = any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token)
        if mixed and entropy(token) >= MIN_ENTROPY_BITS:
            return True
    return False


def looks_secret(text: str) -> bool:
    """Whether a string looks like a credential by its shape alone (what error messages must not echo)."""
    return bool(url_credentials(text) or token_rule(text))


def classify(text: str, free_form: bool) -> tuple[str, str] | None:
    """(rule, what) when a string looks like a secret, else None."""
    if url_credentials(text):
        return "secret-url-credentials", url_credentials(text)
    rule = token_rule(text)
    if rule is not None:
        return f"secret-{rule.id}", rule.what
    if free_form and random_looking(text):
        return "secret-high-entropy", "a random token (a key or password?) in a free-form field"
    return None


# -- walking values beside their schema ----------------------------------------------------------


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A local `$ref`'s target under the node's own keywords."""
    if "$ref" not in schema:
        return schema
    node: Any = root
    for part in str(schema["$ref"]).removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return {**_resolve(node, root), **{k: v for k, v in schema.items() if k != "$ref"}}


def child_schema(schema: Mapping[str, Any] | None, key: str | int, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema of one member (a property, a map value, a list item), or None when the schema has none."""
    if schema is None:
        return None
    if isinstance(key, int):
        items = schema.get("items")
    else:
        items = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
    return _resolve(items, root) if isinstance(items, Mapping) else None


def is_free_form(schema: Mapping[str, Any] | None) -> bool:
    """A string the schema does not constrain by shape (an unknown key counts: nothing vouches for it)."""
    return schema is None or not any(key in schema for key in FREE_FORM_EXCLUDES)


def findings(data: Any, schema: Mapping[str, Any] | None, root: Mapping[str, Any], path: KeyPath = ()) -> Iterator[Finding]:
    """Every secret-looking string of `data` (keys included), depth first."""
    if isinstance(data, str):
        found = classify(data, is_free_form(schema))
        if found:
            yield Finding(path, *found)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            key_found = classify(str(key), False)
            if key_found:
                yield Finding(path, *key_found, in_key=True)
                continue
            yield from findings(value, child_schema(schema, str(key), root), root, (*path, str(key)))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from findings(item, child_schema(schema, index, root), root, (*path, index))


def scan(data: Mapping[str, Any], schema: Mapping[str, Any], file: str, lines: Mapping[KeyPath, int]) -> list[Problem]:
    """One problem per secret-looking string of one values layer, at its key path and line, without its value."""
    return [Problem(file, key_path(f.path) or "(top level)", f"{'a key here' if f.in_key else 'the value'} looks like "
                    f"{f.what}; {ADVICE}", line=lines.get(f.path) if f.path else None, rule=f.rule)
            for f in findings(data, schema, schema)]
