"""Where a bulk list's addresses stand in Junction: a member, a pending invitation, or neither.

Junction answers this two ways, and neither is cheap for every list:

- walking List Members and List Invites to the end costs what the org costs: 20,008 members are 201 pages
  of 100, fetched one after the other (a cursor names only the next page), so about 10 s at 50 ms a page
  for a list of 5 as for a list of 5,000;
- searching each address (List Members and List Invites with `search_query`, Junction's own filter) costs
  what the list costs: two calls an address, LOOKUPS_AT_ONCE at a time, whatever the org's size.

So a list of at most SMALL_LIST addresses is searched address by address, after a first page of each list
shows whether the org is big enough for that to pay (an org whose members and invitations each fit on one
page is known whole from those two calls). A longer list is looked up in the worker's copy of the org
(invite/adapters/org_snapshot.py, the caller's `known`: one query, milliseconds) while that copy is young
enough, and otherwise walks both lists, side by side. Found any way,
a member or invitation counts for an address only when its email is the address (without case): a search
also finds longer addresses that contain it. Nothing here sends anything; a row that changed in Junction
since is caught by Junction's own answer when it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from invite.core.invite_rules import email_errors
from invite.junction import Invite, Member, Page

__all__ = ["LOOKUPS_AT_ONCE", "SMALL_LIST", "Known", "Standing", "standing_of", "walk"]

# Measured with bench/bulk_preview.py --threshold on the org (20,008 members, 10,012 invitations,
# 50 ms a call; bench/README.md): 50 addresses searched in 0.95 s where both lists walked took 13.8 s.
# Searching n addresses takes about n / 4 rounds of calls and walking P pages of members P rounds, so at
# 50 searching wins on any org of more than about 1,250 members and stays under the small list's 1.5 s
# target with room for a slower Junction.
SMALL_LIST = 50
# Calls in flight at once for one preview's searches: as many as a few bulk jobs' senders, far from the
# client's pool of 16 connections.
LOOKUPS_AT_ONCE = 8

T = TypeVar("T", Member, Invite)
U = TypeVar("U")


class _Lists(Protocol):
    """What this module needs of JunctionClient."""

    def list_members(self, *, search_query: str | None = None, cursor: str | None = None) -> Page[Member]: ...

    def list_invites(self, *, search_query: str | None = None, cursor: str | None = None) -> Page[Invite]: ...

    def iter_members(self, *, search_query: str | None = None) -> Iterator[Member]: ...

    def iter_invites(self, *, search_query: str | None = None) -> Iterator[Invite]: ...


@dataclass(frozen=True)
class Standing:
    """The members and pending invitations that matter for a list (all of them, when the lists were walked)."""

    members: list[Member]
    invites: list[Invite]
    # "walked" (both lists read to the end), "searched" (address by address, after a first page) or "copy"
    # (the worker's copy of the org, taken at as_of)
    how: str
    as_of: datetime | None = None


class Known(Protocol):
    """What the worker's copy says of some addresses (invite.adapters.org_snapshot.Known)."""

    @property
    def members(self) -> list[Member]: ...

    @property
    def invites(self) -> list[Invite]: ...

    @property
    def taken_at(self) -> datetime: ...


def _key(email: str) -> str:
    return email.strip().casefold()


def addresses_to_check(emails: Iterable[str]) -> list[str]:
    """The list's distinct addresses worth asking about, in order: an invalid one is a problem whatever
    Junction says (the preview judges it before asking), so it costs no call."""
    seen: set[str] = set()
    wanted = []
    for email in emails:
        key = _key(email)
        if key and key not in seen and not email_errors(email.strip()):
            seen.add(key)
            wanted.append(email.strip())
    return wanted


def _same(work: Callable[[], U]) -> Callable[[], U]:
    return work


def standing_of(client: _Lists, emails: Sequence[str], *, small_list: int = SMALL_LIST,
                at_once: int = LOOKUPS_AT_ONCE,
                on_thread: Callable[[Callable[[], Any]], Callable[[], Any]] = _same,
                known: Callable[[list[str]], Known | None] | None = None) -> Standing:
    """Members and pending invitations for these addresses: searched one by one for a list of at most
    `small_list` distinct valid addresses; else read from `known` (the worker's copy of the org: None when it
    is missing or too old), else both lists walked. A JunctionError goes to the caller.
    `on_thread` wraps the work handed to a pool's thread (the web passes upstream.for_this_request, so those
    calls count in the request's Server-Timing)."""
    if len({_key(e) for e in emails if _key(e)}) > small_list:
        # Every distinct address, unchecked: an invalid one matches nothing in the copy, and validating 5,000
        # addresses here (0.4 ms each) would compete for the interpreter with the preview's own checks of
        # the same addresses, the longest part of a long list's preview once Junction is not walked.
        copy = known(list({_key(e): e for e in emails if _key(e)}.values())) if known is not None else None
        if copy is not None:
            return Standing(copy.members, copy.invites, "copy", copy.taken_at)
        return walk(client, on_thread)
    wanted = addresses_to_check(emails)
    if not wanted:
        return Standing([], [], "searched")
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="bulk-lookup") as pool:
        first_members = pool.submit(on_thread(client.list_members))
        first_invites = pool.submit(on_thread(client.list_invites))
        members = _complete_or_search(pool, first_members, wanted,
                                      lambda email: client.iter_members(search_query=email), on_thread)
        invites = _complete_or_search(pool, first_invites, wanted,
                                      lambda email: client.iter_invites(search_query=email), on_thread)
        return Standing(_settle(members), _settle(invites), "searched")


def walk(client: _Lists, on_thread: Callable[[Callable[[], Any]], Callable[[], Any]] = _same) -> Standing:
    """Every member and pending invitation: both lists read to the end (the worker's copy is made so too)."""
    # The two walks go side by side: each is a chain of page requests, so together they take about as long
    # as the longer one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-preview") as pool:
        invites = pool.submit(on_thread(lambda: list(client.iter_invites())))
        members = list(client.iter_members())
        return Standing(members, invites.result(), "walked")


def _complete_or_search(pool: ThreadPoolExecutor, first: Future[Page[T]], wanted: Sequence[str],
                        search: Callable[[str], Iterator[T]],
                        on_thread: Callable[[Callable[[], Any]], Callable[[], Any]]) -> list[Future[list[T]]]:
    """The first page's items when the list ends there; else one search per address the page did not hold."""
    page = first.result()
    found = [item for item in page.items if _key(item.email) in {_key(e) for e in wanted}]
    done: Future[list[T]] = Future()
    done.set_result(found)
    if page.next_cursor is None:
        return [done]
    on_page = {_key(item.email) for item in found}
    return [done] + [pool.submit(on_thread(partial(_search_one, search, email)))
                     for email in wanted if _key(email) not in on_page]


def _search_one(search: Callable[[str], Iterator[T]], email: str) -> list[T]:
    """The items whose email is this address: the search's pages are read until one is found (a search
    for an address also finds the longer addresses that contain it)."""
    for item in search(email):
        if _key(item.email) == _key(email):
            return [item]
    return []


def _settle(futures: list[Future[list[T]]]) -> list[T]:
    """Every future's items; the first failure is raised once the others are cancelled or done."""
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for future in done:
        error = future.exception()
        if error is not None:
            for other in futures:
                other.cancel()
            raise error
    return [item for future in futures for item in future.result()]
