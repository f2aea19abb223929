"""/activity: who did what, filterable, paged, exportable, with a chart of actions per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from invite.activity import queries
from invite.activity.chart import SERIES, chart_svg
from invite.activity.export import csv_lines
from invite.activity.forms import ActivityFilterForm, outcome_group, outcome_label
from invite.activity.postgres_csv import copied_csv
from invite.adapters.storage import db
from invite.auth import require
from invite.core.rows import DELETED_TEAM
from invite.core.vocabulary import REMINDER_SWITCHES, action_words
from invite.invites.forms import ROLE_LABELS

bp = Blueprint("activity", __name__)

CHART_DAYS = 30


def _filters(form: ActivityFilterForm) -> dict:
    return {
        "who": form.who.data, "target": form.target.data, "action": form.action.data or None,
        "outcome": form.outcome.data or None, "date_from": form.date_from.data, "date_to": form.date_to.data,
        "job": form.job.data, "channel": form.channel.data or None,
    }


def _parse() -> tuple[ActivityFilterForm, dict, bool]:
    form = ActivityFilterForm(request.args)
    valid = form.validate()
    return form, (_filters(form) if valid else {}), valid


def _link_args() -> dict[str, str]:
    """The filters to carry in the page's links: our own fields only, never request.args wholesale
    (url_for reads _external, _method, _anchor, ... as instructions)."""
    return {name: request.args[name] for name in ActivityFilterForm.FILTERS if request.args.get(name)}


def _window(form: ActivityFilterForm, valid: bool, query, total: int | None) -> tuple[queries.Window, str | None]:
    """The page the links ask for, and a note when it cannot be the one asked for."""
    if not valid:
        return queries.window(query), None
    if form.before.data:
        return queries.window(query, before=queries.Cursor.parse(form.before.data)), None
    if form.after.data:
        return queries.window(query, after=queries.Cursor.parse(form.after.data)), None
    if form.oldest.data:
        return queries.window(query, oldest=True), None
    number = form.page.data or 1
    if number == 1:
        return queries.window(query), None
    if total is not None and (number - 1) * queries.PAGE_SIZE >= total:
        return queries.Window([], None, None, first=False), None  # past the end: nothing to read
    # A `?page=N` link from before pages had cursors is still served by OFFSET where that stays cheap.
    numbered = queries.COUNT_LIMIT // queries.PAGE_SIZE
    if number <= numbered:
        return queries.numbered_window(query, number), None
    return queries.window(query), (f"Page numbers go as far as page {numbered}, so the newest actions are "
                                   "shown. Use Older and Oldest to go further back.")


def _render(form: ActivityFilterForm, filters: dict, valid: bool, *, status: int = 200):
    query = queries.filtered(**filters)
    # Counting the matches (to say "51–100 of 812") is cheap on the trail's btree indexes, but not through a
    # search by part of an address: each trigram index scan costs as much as the page's own (issue 25). Such a
    # search says where it is only when its first page holds every match.
    searched = bool(filters.get("who") or filters.get("target"))
    total = None if searched else queries.count_upto(query)
    shown, note = _window(form, valid, query, total)
    if searched and shown.first and shown.older is None:
        total = len(shown.rows)
    start = queries.position(query, shown, total)

    last = filters.get("date_to") or datetime.now(UTC).date()
    first = filters.get("date_from") or last - timedelta(days=CHART_DAYS - 1)
    first = max(first, last - timedelta(days=366))  # a year at most: the chart stays readable and cheap
    counts = queries.per_day(query, first, last)
    title = f"Actions per day by outcome, {first.isoformat()} to {last.isoformat()} (UTC)"

    args = _link_args()
    return render_template(
        "activity/list.html",
        form=form,
        valid=valid,
        paging_note=note,
        filtered=any(value for value in filters.values()),
        active_filters=[name for name, value in filters.items() if value],
        rows=shown.rows,
        first_page=shown.first,
        total=total,
        start=start,
        count_limit=queries.COUNT_LIMIT,
        more_than_counted=total is None and not searched,
        newest_url=None if shown.first else url_for("activity.activity", **args),
        newer_url=url_for("activity.activity", **args, after=str(shown.newer)) if shown.newer else None,
        older_url=url_for("activity.activity", **args, before=str(shown.older)) if shown.older else None,
        oldest_url=url_for("activity.activity", **args, oldest=1) if shown.older else None,
        # No export of invalid filters: it would be the whole trail under a filtered-looking name.
        csv_url=url_for("activity.export_csv", **args) if valid else None,
        chart=chart_svg(counts, title),
        chart_title=title,
        chart_counts=counts,
        series=SERIES,
        outcome_label=outcome_label,
        outcome_group=outcome_group,
        action_words=action_words,
        reminder_switches=REMINDER_SWITCHES,
        role_labels=ROLE_LABELS,
        deleted_team=DELETED_TEAM,
    ), status


@bp.get("/activity")
@require("view")
def activity():
    form, filters, valid = _parse()
    return _render(form, filters, valid)


@bp.get("/activity.csv")
@require("view")
def export_csv():
    form, filters, valid = _parse()
    if not valid:
        # The page names each invalid filter; exporting anything here would ignore them silently.
        return _render(form, filters, valid, status=400)
    query = queries.filtered(**filters)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    # PostgreSQL writes the CSV itself (COPY): a million rows through Python took most of the 30 s allowed.
    lines = copied_csv(query) if db.engine.dialect.name == "postgresql" else csv_lines(queries.each_row(query))
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="invite-activity-{stamp}.csv"'},
    )
