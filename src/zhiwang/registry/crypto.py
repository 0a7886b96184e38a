"""Personal data at rest: AES-256-GCM per value, and a keyed hash for exact-match search.

A stored value reads `<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id names the key that
encrypted it, so keys rotate: the first key of `ZHIWANG_DATA_KEYS` encrypts, every listed key
decrypts, and `registry_rotate_keys` re-encrypts what an older key wrote. The associated data is the
column's name ("person.id_number"), so a value copied into another column does not decrypt.

The lookup hash is HMAC-SHA256 under `ZHIWANG_LOOKUP_KEY`, also bound to its column, so equal ID
numbers match without the number being stored anywhere in clear.

Without configured keys (development, the demo, tests), both keys are derived from SECRET_KEY
with HKDF; `checks.py` warns when that happens with DEBUG off.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_BYTES = 12
DEVELOPMENT_KEY_ID = "dev"


class KeyConfigurationError(ValueError):
    pass


class DecryptionError(ValueError):
    pass


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, AESGCM]
    lookup_key: bytes
    derived: bool  # True when the keys came from SECRET_KEY (development only)


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def parse_data_keys(entries: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """["key_id:base64 of 32 bytes", ...] → [(key id, key)], checked."""
    parsed: list[tuple[str, bytes]] = []
    for entry in entries:
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not key_id.isalnum() or key_id == DEVELOPMENT_KEY_ID:
            raise KeyConfigurationError(
                "Each data key reads 'key_id:base64' with an alphanumeric key id other than 'dev'."
            )
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyConfigurationError(f"Data key {key_id!r} is not valid base64.") from exc
        if len(raw) != 32:
            raise KeyConfigurationError(f"Data key {key_id!r} must be 32 bytes (AES-256).")
        if any(key_id == known for known, _ in parsed):
            raise KeyConfigurationError(f"Data key id {key_id!r} is listed twice.")
        parsed.append((key_id, raw))
    return parsed


@lru_cache(maxsize=4)
def _keyring(data_keys: tuple[str, ...], lookup_key: str, secret: str) -> Keyring:
    derived = not data_keys or not lookup_key
    development = (DEVELOPMENT_KEY_ID, _derive(secret, b"zhiwang registry data key v1"))
    # The development key always decrypts (never encrypts once keys are configured), so data written
    # before keys were configured moves under them with `registry_rotate_keys`.
    pairs = [*parse_data_keys(data_keys), development]
    lookup = lookup_key.encode() if lookup_key else _derive(secret, b"zhiwang registry lookup key v1")
    return Keyring(
        current_id=pairs[0][0],
        keys={key_id: AESGCM(raw) for key_id, raw in reversed(pairs)},
        lookup_key=lookup,
        derived=derived,
    )


def keyring() -> Keyring:
    """The keys in force, read from settings (cached per distinct configuration)."""
    return _keyring(
        tuple(settings.ZHIWANG_DATA_KEYS), str(settings.ZHIWANG_LOOKUP_KEY), str(settings.SECRET_KEY)
    )


def encrypt(value: str, column: str, ring: Keyring | None = None) -> str:
    """The stored form of `value` for `column`; an empty value stays empty."""
    if not value:
        return ""
    ring = ring or keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.keys[ring.current_id].encrypt(nonce, value.encode(), column.encode())
    return f"{ring.current_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, column: str, ring: Keyring | None = None) -> str:
    if not stored:
        return ""
    ring = ring or keyring()
    key_id, _, encoded = stored.partition(":")
    key = ring.keys.get(key_id)
    if key is None:
        raise DecryptionError(f"The key {key_id!r} that encrypted this value is not configured.")
    try:
        raw = base64.urlsafe_b64decode(encoded)
        return key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise DecryptionError("A stored value does not decrypt for its column.") from exc


def key_id_of(stored: str) -> str:
    return stored.partition(":")[0] if stored else ""


def lookup_hash(value: str, column: str, ring: Keyring | None = None) -> str:
    """The keyed hash that finds `value` by exact match; empty for an empty value."""
    if not value:
        return ""
    ring = ring or keyring()
    message = column.encode() + b"\x00" + value.encode()
    return hmac.new(ring.lookup_key, message, hashlib.sha256).hexdigest()


class Sealer:
    """`encrypt` and `lookup_hash` for one column with the per-call work done once: the same formats,
    a fresh random nonce for every value. For loops over many values (the import)."""

    def __init__(self, column: str, ring: Keyring | None = None) -> None:
        ring = ring or keyring()
        self._aad = column.encode()
        self._key = ring.keys[ring.current_id]
        self._prefix = f"{ring.current_id}:"
        self._mac = hmac.new(ring.lookup_key, self._aad + b"\x00", hashlib.sha256)

    def encrypt(self, value: str) -> str:
        if not value:
            return ""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._key.encrypt(nonce, value.encode(), self._aad)
        return self._prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def lookup_hash(self, value: str) -> str:
        if not value:
            return ""
        mac = self._mac.copy()
        mac.update(value.encode())
        return mac.hexdigest()


# Files ------------------------------------------------------------------------------------------
#
# An uploaded file waiting for the worker holds personal data in clear, so it is kept sealed:
# "ZWF1", the key id's length (1 byte) and the key id, then chunks of up to FILE_CHUNK bytes, each
# stored as its length (4 bytes, big-endian), a fresh nonce and the AES-GCM ciphertext with its tag.
# A chunk's associated data is the file's label, its index and whether it is the last, so chunks
# cannot be reordered, dropped, moved to another file, or the file cut short without the opening
# failing.

FILE_MAGIC = b"ZWF1"
FILE_CHUNK = 1 << 20


def _chunk_aad(label: str, index: int, last: bool) -> bytes:
    return label.encode() + b"\x00" + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def seal_file(source: IO[bytes], target: IO[bytes], label: str, ring: Keyring | None = None) -> int:
    """Writes `source` sealed to `target`; returns the clear bytes written. `label` (for example the
    import job's id) must be given again to open it."""
    ring = ring or keyring()
    key = ring.keys[ring.current_id]
    key_id = ring.current_id.encode()
    target.write(FILE_MAGIC + len(key_id).to_bytes(1, "big") + key_id)
    size, index = 0, 0
    chunk = source.read(FILE_CHUNK)
    while True:
        following = source.read(FILE_CHUNK) if chunk else b""
        last = not following
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.encrypt(nonce, chunk, _chunk_aad(label, index, last))
        target.write(len(sealed).to_bytes(4, "big") + nonce + sealed)
        size += len(chunk)
        if last:
            return size
        chunk, index = following, index + 1


def open_sealed_file(source: IO[bytes], label: str, ring: Keyring | None = None) -> Iterator[bytes]:
    """The clear chunks of a file written by `seal_file` with the same label; `DecryptionError`
    when it was altered, cut short, sealed for another label, or with a key not configured."""
    ring = ring or keyring()
    head = source.read(len(FILE_MAGIC) + 1)
    if len(head) != len(FILE_MAGIC) + 1 or not head.startswith(FILE_MAGIC):
        raise DecryptionError("Not a sealed file.")
    key_id = source.read(head[-1]).decode(errors="replace")
    key = ring.keys.get(key_id)
    if key is None:
        raise DecryptionError(f"The key {key_id!r} that sealed this file is not configured.")
    index = 0
    while True:
        length = int.from_bytes(source.read(4) or b"\x00", "big")
        nonce, sealed = source.read(NONCE_BYTES), source.read(length)
        if length == 0 or len(nonce) != NONCE_BYTES or len(sealed) != length:
            raise DecryptionError("The sealed file is cut short.")
        last = source.read(1) == b""
        if not last:
            source.seek(-1, io.SEEK_CUR)
        try:
            yield key.decrypt(nonce, sealed, _chunk_aad(label, index, last))
        except InvalidTag as exc:
            raise DecryptionError("The sealed file does not open: altered, or sealed for another.") from exc
        if last:
            return
        index += 1
