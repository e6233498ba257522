"""Credentials: which strings look like secrets, and the problems that name them without their value."""

from __future__ import annotations

import pytest

from generator import credentials
from generator.values import load_schema
from tests.plans import SETTINGS

SCHEMA = load_schema(SETTINGS)


@pytest.mark.parametrize(("text", "rule"), [
    ("https://x-access-token:ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/a/b.git", "secret-url-credentials"),
    ("https://TOKEN@github.com/a/b.git", "secret-url-credentials"),
    ("ssh://user:hunter2@git.example.com/a.git", "secret-url-credentials"),
    ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "secret-github-token"),
    ("gho_0123456789abcdefghijABCDEFGHIJ012345", "secret-github-token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "secret-github-token"),
    ("AKIAQWERTYUIOPASDFGH", "secret-aws-access-key"),
    ("ASIAQWERTYUIOPASDFGH", "secret-aws-access-key"),
    ("xoxp-1234567890-abcdefghij", "secret-slack-token"),
    ("glpat-abcdefghij0123456789", "secret-gitlab-token"),
    ("sk-abcdefghij0123456789KLMNOP", "secret-openai-key"),
    ("AIzaSyA0123456789abcdefghijklmnopqrstuv", "secret-google-api-key"),
    ("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "secret-huggingface-token"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "secret-private-key"),
    ("-----BEGIN PRIVATE KEY-----", "secret-private-key"),
])
def test_secret_shapes(text: str, rule: str) -> None:
    assert credentials.classify(text, free_form=False) is not None
    assert credentials.classify(text, free_form=False)[0] == rule  # type: ignore[index]


@pytest.mark.parametrize("text", [
    "https://github.com/example/gemma-gitops.git", "git@github.com:example/gemma-gitops.git",
    "ssh://git@github.com/example/gemma-gitops.git", "ghcr.io/ggml-org/llama.cpp:server-b11434",
    "ggml-org/gemma-3-1b-it-GGUF", "desk-top", "task-abcdefghijklmnopqrstuvwxyz", "kubernetes.io/arch",
    "we serve /v1/embeddings for inputs up to 512 tokens; the 4 GiB limit holds the 1 GiB it costs",
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "-----BEGIN CERTIFICATE-----",
])
def test_ordinary_values_pass(text: str) -> None:
    assert credentials.classify(text, free_form=True) is None


def test_random_tokens_only_in_free_form_fields() -> None:
    token = "Zx9Qw2Er7Ty4Ui1Op8As5Df3Gh"
    assert credentials.classify(token, free_form=True) == ("secret-high-entropy", "a random token (a key or password?) in a free-form field")
    assert credentials.classify(token, free_form=False) is None


def test_free_form_is_read_from_the_schema() -> None:
    node_selector = credentials.child_schema(SCHEMA, "nodeSelector", SCHEMA)
    assert credentials.is_free_form(credentials.child_schema(node_selector, "team", SCHEMA))
    assert not credentials.is_free_form(credentials.child_schema(SCHEMA, "hostname", SCHEMA))
    assert not credentials.is_free_form(credentials.child_schema(SCHEMA, "name", SCHEMA))  # through its $ref
    assert credentials.is_free_form(credentials.child_schema(SCHEMA, "noSuchKey", SCHEMA))


def test_a_secret_key_is_reported_at_its_map_not_by_name() -> None:
    data = {"nodeSelector": {"ghp_0123456789abcdefghijABCDEFGHIJ012345": "x"}}
    [problem] = credentials.scan(data, SCHEMA, "values/prod.yaml", {("nodeSelector",): 7})
    assert str(problem) == ("values/prod.yaml::nodeSelector (line 7): a key here looks like a GitHub token; "
                            f"{credentials.ADVICE} (secret-github-token)")
    assert "ghp_" not in str(problem)
