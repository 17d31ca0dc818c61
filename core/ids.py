"""Public identifiers that cannot be guessed or enumerated."""

from __future__ import annotations

import random
import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_SYSTEM_RANDOM = secrets.SystemRandom()


def new_public_id(prefix: str, rng: random.Random | None = None) -> str:
    """``prefix_`` plus 20 random base32 characters (100 bits).

    Pass ``rng`` only for reproducible demo data; production ids use the OS generator.
    """
    source = rng if rng is not None else _SYSTEM_RANDOM
    return prefix + "_" + "".join(source.choice(_ALPHABET) for _ in range(20))
