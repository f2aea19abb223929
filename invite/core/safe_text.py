"""Text from outside (Junction's answers, request headers) made safe to store, show and export.

Control characters (NUL above all, which PostgreSQL refuses in text) and the invisible bidirectional
controls (U+202E turns "gpj.exe" into "exe.jpg" on screen) are never part of a real email address, team
name or id. They are dropped; tabs and line breaks become a space so words stay apart.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_AS_SPACE = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")
_CONTROLS = {code: None for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
# A lone surrogate (JSON's "\ud800" escape) is no character at all: it cannot be encoded to store, show or
# export, so it becomes U+FFFD, as a browser shows bytes it cannot read.
_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}
_TABLE = str.maketrans({**_CONTROLS, **{ord(ch): None for ch in BIDI_CONTROLS},
                        **{ord(ch): " " for ch in _AS_SPACE}, **_SURROGATES})


def clean_text(value: str) -> str:
    """`value` without control or bidi-control characters, and with U+FFFD for any lone surrogate."""
    return value.translate(_TABLE)


def fit(value: str | None, length: int) -> str | None:
    """Cleaned and cut to `length` characters, the cut marked with "…", so it fits its column."""
    if value is None:
        return None
    if not (value.isascii() and value.isprintable()):  # printable ASCII has nothing to clean: most values
        value = clean_text(value)
    return value if len(value) <= length else value[: length - 1] + "…"
