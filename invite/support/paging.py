"""Cursor paging with a way back, carried in the query string so that every page view is one upstream call.

Junction's lists only go forward (`next_cursor`). The cursors of the pages before the current one ride
along as repeated `back` parameters: page 1 has no cursor, page k (k >= 2) has `cursor=Ck` and
`back=C2 … C(k-1)`. "Previous" pops the last one; nothing is cached and nothing is walked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

# A search box value longer than an email address can be is cut (it still finds whatever it can).
MAX_QUERY_CHARS = 320
# Pages more than this deep forget their oldest way back (the URL must stay a sane length).
MAX_BACK = 100
# The invitations list's own filters (Junction's List Invites has none): the role, and "older than" in days.
ROLE_FILTERS = ("org_admin", "team_admin", "no_role")
AGE_FILTERS = (7, 30)


@dataclass(frozen=True)
class Pager:
    q: str = ""
    cursor: str | None = None
    back: tuple[str, ...] = ()
    role: str = ""
    older_than_days: int | None = None

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> Pager:
        q = (args.get("q") or "").strip()[:MAX_QUERY_CHARS]
        cursor = (args.get("cursor") or "").strip() or None
        back: tuple[str, ...] = ()
        if cursor is not None:
            back = tuple(c for c in (v.strip() for v in args.getlist("back")) if c)[-MAX_BACK:]
        role = args.get("role", "")
        age = args.get("older_than", "")
        older_than_days = int(age) if age.isdigit() and int(age) in AGE_FILTERS else None
        return cls(q=q, cursor=cursor, back=back, role=role if role in ROLE_FILTERS else "",
                   older_than_days=older_than_days)

    @property
    def filtered(self) -> bool:
        return bool(self.role or self.older_than_days)

    @property
    def number(self) -> int:
        """1 for the first page; a page deeper than MAX_BACK + 1 reports that bound."""
        return 1 if self.cursor is None else len(self.back) + 2

    @property
    def search_query(self) -> str | None:
        return self.q or None

    def args(self, **extra: Any) -> dict[str, Any]:
        """url_for() keyword arguments for this very page (e.g. a retry link)."""
        return self._args(self.cursor, self.back, **extra)

    def first_args(self) -> dict[str, Any]:
        return self._args(None, ())

    def next_args(self, next_cursor: str) -> dict[str, Any]:
        back = (*self.back, self.cursor) if self.cursor is not None else ()
        return self._args(next_cursor, back[-MAX_BACK:])

    def previous_args(self) -> dict[str, Any] | None:
        if self.cursor is None:
            return None
        if not self.back:
            return self.first_args()
        return self._args(self.back[-1], self.back[:-1])

    def _args(self, cursor: str | None, back: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"q": self.q or None, "role": self.role or None, "older_than": self.older_than_days,
                                "cursor": cursor, "back": list(back) if cursor and back else None}
        args.update(extra)
        return {k: v for k, v in args.items() if v is not None}
