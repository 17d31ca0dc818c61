"""Personal data at rest: AES-GCM encryption and a keyed blind index for exact look-up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.settings import Settings, get_settings

_NONCE_BYTES = 12
_VERSION = b"\x01"


def _data_key(settings: Settings) -> bytes:
    key = base64.b64decode(settings.data_key.get_secret_value())
    if len(key) not in (16, 24, 32):
        raise ValueError("LINLI_DATA_KEY must be base64 of 16, 24 or 32 bytes")
    return key


def encrypt(plaintext: str, *, context: str, settings: Settings | None = None) -> bytes:
    """Encrypt text; ``context`` (e.g. the column name) is bound as associated data."""
    settings = settings or get_settings()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_data_key(settings)).encrypt(nonce, plaintext.encode(), context.encode())
    return _VERSION + nonce + sealed


def decrypt(blob: bytes, *, context: str, settings: Settings | None = None) -> str:
    """Decrypt what :func:`encrypt` produced with the same context."""
    settings = settings or get_settings()
    if not blob or blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    return AESGCM(_data_key(settings)).decrypt(nonce, sealed, context.encode()).decode()


def blind_index(value: str, *, context: str, settings: Settings | None = None) -> str:
    """A keyed HMAC-SHA256 of a normalised value: equal inputs match, the value stays hidden."""
    settings = settings or get_settings()
    normalised = value.strip().upper()
    mac = hmac.new(
        settings.index_key.get_secret_value().encode(),
        f"{context}\x00{normalised}".encode(),
        hashlib.sha256,
    )
    return mac.hexdigest()


def mask_id_number(value: str) -> str:
    """``350102199001011234`` → ``350102********1234``."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
