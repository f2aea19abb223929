"""A stand-in for an object that is costly to import or build and that many processes never use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Deferred:
    """Builds the object with `make()` the first time anything of it is read or set, and is that object from then
    on: every attribute read and write goes to it, so whoever holds the stand-in and whoever holds the object see
    one and the same thing."""

    def __init__(self, make: Callable[[], Any]):
        object.__setattr__(self, "_make", make)
        object.__setattr__(self, "_made", None)

    def _object(self) -> Any:
        made = object.__getattribute__(self, "_made")
        if made is None:
            made = object.__getattribute__(self, "_make")()
            object.__setattr__(self, "_made", made)
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._object(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._object(), name, value)
