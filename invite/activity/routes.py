"""/activity: who did what, filterable, paged, exportable, with a chart of actions per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from invite.activity import queries
from invite.activity.chart import SERIES, chart_svg
from invite.activity.export import csv_lines
from invite.activity.forms import OUTCOME_LABELS, ActivityFilterForm, outcome_group
from invite.auth import require

bp = Blueprint("activity", __name__)

CHART_DAYS = 30


def _filters(form: ActivityFilterForm) -> dict:
    return {
        "who": form.who.data, "target": form.target.data, "action": form.action.data or None,
        "outcome": form.outcome.data or None, "date_from": form.date_from.data, "date_to": form.date_to.data,
        "job": form.job.data,
    }


def _parse() -> tuple[ActivityFilterForm, dict, bool]:
    form = ActivityFilterForm(request.args)
    valid = form.validate()
    return form, (_filters(form) if valid else {}), valid


@bp.get("/activity")
@require("view")
def activity():
    form, filters, valid = _parse()
    query = queries.filtered(**filters)
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    rows, has_more = queries.page(query, number)

    last = filters.get("date_to") or datetime.now(UTC).date()
    first = filters.get("date_from") or last - timedelta(days=CHART_DAYS - 1)
    first = max(first, last - timedelta(days=366))  # a year at most: the chart stays readable and cheap
    counts = queries.per_day(query, first, last)
    title = f"Actions per day by outcome, {first.isoformat()} to {last.isoformat()} (UTC)"

    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "activity/list.html",
        form=form,
        valid=valid,
        filtered=any(value for value in filters.values()),
        rows=rows,
        page=number,
        prev_url=url_for("activity.activity", **args, page=number - 1) if number > 1 else None,
        next_url=url_for("activity.activity", **args, page=number + 1) if has_more else None,
        csv_url=url_for("activity.export_csv", **args),
        chart=chart_svg(counts, title),
        chart_title=title,
        chart_counts=counts,
        series=SERIES,
        outcome_labels=OUTCOME_LABELS,
        outcome_group=outcome_group,
    )


@bp.get("/activity.csv")
@require("view")
def export_csv():
    _, filters, _ = _parse()
    query = queries.filtered(**filters)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(csv_lines(queries.each_row(query))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="invite-activity-{stamp}.csv"'},
    )
