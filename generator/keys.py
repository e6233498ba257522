"""API keys of the auth proxy: the salted-hash form a key-file line may take, and a key's short identity.

auth.lua reads the same two formulas; a key-file line is either a key or `sha256:<salt hex>:<digest hex>`
with digest = SHA-256(salt || key), so the Secret (and the vault entry behind it) need not hold a usable
key. A fast salted hash, not a slow KDF: keys are random (`openssl rand`, 128 bits and more), so a
leaked hash cannot be reversed at any speed, and a slow hash would be paid on every request, wrong
keys included.
"""

from __future__ import annotations

import hashlib
import re
import secrets

MIN_KEY_LENGTH = 16  # auth.lua's MIN_KEY_LENGTH
SALT_BYTES = 16  # auth.lua accepts 16 bytes of salt and more
KEY_ID_DIGITS = 12
KEY_ID_PREFIX = b"gemma-key-id:"
# RFC 6750 section 2.1: a bearer token is a token68.
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class InvalidKey(ValueError):
    """A string the proxy would not accept as a key."""


def check_key(key: str) -> None:
    """Raise InvalidKey unless the proxy accepts `key`: a token68 of at least MIN_KEY_LENGTH characters."""
    if not TOKEN68.fullmatch(key):
        raise InvalidKey("a key is a bearer token: letters, digits, - . _ ~ + / and trailing =")
    if len(key) < MIN_KEY_LENGTH:
        raise InvalidKey(f"a key has at least {MIN_KEY_LENGTH} characters (this one has {len(key)})")


def hash_line(key: str, salt: bytes) -> str:
    """The key-file line that accepts `key` without holding it: `sha256:<salt hex>:<digest hex>`."""
    check_key(key)
    if len(salt) < SALT_BYTES:
        raise InvalidKey(f"a salt has at least {SALT_BYTES} bytes")
    return f"sha256:{salt.hex()}:{hashlib.sha256(salt + key.encode()).hexdigest()}"


def new_salt() -> bytes:
    """SALT_BYTES random bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(SALT_BYTES)


def key_id(key: str) -> str:
    """The key's identity in the proxy's access log and limits: never the key, the same for its hash."""
    return hashlib.sha256(KEY_ID_PREFIX + key.encode()).hexdigest()[:KEY_ID_DIGITS]
