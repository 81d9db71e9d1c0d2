"""Consistent replacement of UIDs (the ``U`` action, PS3.15 E.1.1).

A replacement UID is ``2.25.`` followed by the decimal value of 128 bits of a keyed hash
(HMAC-SHA256) of the original UID (PS3.5 B.2: UUID-derived UIDs under the 2.25 root). The same
original always gives the same replacement under one key, so references between instances
(Study / Series / SOP Instance UIDs, Referenced SOP Instance UIDs, Frame of Reference UIDs)
stay consistent; without the key the originals cannot be recovered by hashing guesses.

:class:`UIDMap` remembers every replacement it made, and can be saved to and loaded from JSON
so that files de-identified in several runs keep referring to each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["UIDMap", "hashed_uid"]

_ROOT = "2.25."


def _key(salt: bytes | str) -> bytes:
    return salt.encode("utf-8") if isinstance(salt, str) else bytes(salt)


def hashed_uid(uid: str, salt: bytes | str) -> str:
    """The replacement of ``uid`` under ``salt``: ``2.25.<128-bit keyed hash>``."""
    digest = hmac.new(
        _key(salt), uid.strip().rstrip("\x00").encode("ascii", "replace"), hashlib.sha256
    ).digest()
    return _ROOT + str(int.from_bytes(digest[:16], "big"))


class UIDMap(Mapping[str, str]):
    """Original UID -> replacement UID, filled as UIDs are replaced.

    ``salt`` keys the hash; ``None`` draws a random one, so that replacements cannot be
    recomputed by anyone holding only the originals. Pass the same map (or the same salt)
    to every call that must agree.
    """

    def __init__(
        self, salt: bytes | str | None = None, mapping: Mapping[str, str] | None = None
    ) -> None:
        self.salt: bytes = _key(salt) if salt is not None else secrets.token_bytes(16)
        self._map: dict[str, str] = dict(mapping or {})

    def replace(self, uid: str) -> str:
        """The replacement for ``uid`` (made and remembered on first use)."""
        key = uid.strip().rstrip("\x00")
        if not key:
            return key
        new = self._map.get(key)
        if new is None:
            new = self._map[key] = hashed_uid(key, self.salt)
        return new

    def __getitem__(self, uid: str) -> str:
        return self._map[uid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """``{"salt": hex, "uids": {original: replacement}}``. Both re-identify: keep the file
        as secret as the original data."""
        return {"salt": self.salt.hex(), "uids": dict(sorted(self._map.items()))}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> UIDMap:
        """The inverse of :meth:`to_json`; a plain ``{original: replacement}`` object is
        accepted too (a new random salt is drawn for UIDs not in it)."""
        if "uids" in obj and isinstance(obj["uids"], Mapping):
            salt = obj.get("salt")
            return cls(
                bytes.fromhex(salt) if isinstance(salt, str) else None,
                {str(k): str(v) for k, v in obj["uids"].items()},
            )
        return cls(None, {str(k): str(v) for k, v in obj.items()})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the map as JSON (atomically: a temporary file renamed over ``path``)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".part")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> UIDMap:
        """Read a map written by :meth:`save`; ``ValueError`` when the file is not one."""
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a JSON UID map ({exc})") from None
        if isinstance(obj, dict):
            return cls.from_json(obj)
        raise ValueError(f"{path}: a UID map is a JSON object")
