"""generator/keys.py: the key-file hash line and a key's identity, as auth.lua computes them."""

from __future__ import annotations

import hashlib

import pytest

from generator import keys

KEY = "sk-gemma-test-0123456789abcdef"


def test_a_hash_line_is_the_salted_sha256_of_the_key() -> None:
    salt = bytes(range(16))
    line = keys.hash_line(KEY, salt)
    assert line == f"sha256:{salt.hex()}:{hashlib.sha256(salt + KEY.encode()).hexdigest()}"
    assert KEY not in line


def test_salts_differ_so_two_hashes_of_one_key_differ() -> None:
    assert keys.hash_line(KEY, keys.new_salt()) != keys.hash_line(KEY, keys.new_salt())
    assert len(keys.new_salt()) == keys.SALT_BYTES == 16


@pytest.mark.parametrize(("key", "message"), [
    ("k" * 15, r"at least 16 characters \(this one has 15\)"),
    ("sk key with spaces 0123", "a key is a bearer token"),
    ("sk:colon-is-not-token68", "a key is a bearer token"),
    ("", "a key is a bearer token"),
])
def test_a_key_the_proxy_would_ignore_is_refused(key: str, message: str) -> None:
    with pytest.raises(keys.InvalidKey, match=message):
        keys.hash_line(key, keys.new_salt())


def test_sixteen_characters_and_trailing_equals_are_fine() -> None:
    keys.check_key("k" * 16)
    keys.check_key("abcdefghijklmnop==")


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(keys.InvalidKey, match="16 bytes"):
        keys.hash_line(KEY, b"\0" * 15)


def test_the_key_id_is_a_short_domain_separated_hash() -> None:
    assert keys.key_id(KEY) == hashlib.sha256(b"gemma-key-id:" + KEY.encode()).hexdigest()[:12]
    assert keys.key_id(KEY) not in hashlib.sha256(KEY.encode()).hexdigest()
