"""API keys: who may call `/v1/*` (and `/metrics`, unless it is public).

Keys come from a file (one per line; blank lines and `#` comments ignored) and/or the
`FAKESCOPE_API_KEYS` environment variable (comma-separated). A request presents one as
`Authorization: Bearer KEY`. Keys are compared in constant time against every configured key, and
never appear in a log line, a response or an error message: a key is named by its position
(`key#1`, `key#2`, ... in file order, then the environment's), which is what the request log and the
rate limiter use.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from fakescope.errors import UserError

ENV_VAR = "FAKESCOPE_API_KEYS"


class ApiKeys:
    """A set of keys; `identify(authorization_header)` -> the key's name, or None."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode("utf-8") for k in keys]

    def __len__(self) -> int:
        return len(self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"ApiKeys({len(self._keys)} keys)"

    def identify(self, authorization: str | None) -> str | None:
        """The name of the key a `Bearer KEY` header carries, or None (missing, other scheme, unknown key)."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode("utf-8", "replace")
        found = None
        for i, key in enumerate(self._keys):  # every key is compared: no early exit on the first match
            if hmac.compare_digest(key, given) and found is None:
                found = f"key#{i + 1}"
        return found


def _check(key: str, where: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in key):
        raise UserError(f"{where}: an API key cannot contain spaces or control characters")
    return key


def read_key_file(path: str | Path) -> list[str]:
    """The keys of a key file; UserError (one line, never a key) when it is missing or holds none."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"--api-key-file {p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--api-key-file {p}: cannot read it ({type(exc).__name__})") from None
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(_check(line, f"--api-key-file {p} line {n}"))
    if not keys:
        raise UserError(f"--api-key-file {p} holds no key (one key per line; blank lines and # comments are ignored)")
    return keys


def load_api_keys(path: str | Path | None = None, environ: dict[str, str] | None = None) -> ApiKeys:
    """Keys from the file (if given) and from $FAKESCOPE_API_KEYS (if set and not empty)."""
    env = os.environ if environ is None else environ
    keys = read_key_file(path) if path is not None else []
    for part in env.get(ENV_VAR, "").split(","):
        if part.strip():
            keys.append(_check(part.strip(), f"${ENV_VAR}"))
    return ApiKeys(keys)
