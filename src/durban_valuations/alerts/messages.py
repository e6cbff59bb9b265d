"""Subjects and plain-text bodies of the alert mails.

The details come from the job's events (see `durban_valuations.jobs.scrape.finished_details`
and the `blocked_pause` event of the site client) and the run's row in `scrape_runs`.
Details are read defensively, so an event from another emitter with fewer fields still
gives a mail.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from durban_valuations.alerts.incidents import BLOCKED, RUN_FAILED, RUN_SUSPECT, IncidentRecord
from durban_valuations.store.runs import ScrapeRunRecord

SUBJECT_PREFIX = "[durban-valuations]"
# Column at which prose in a body wraps. Table rows and URLs may run longer.
BODY_WIDTH = 76
# Maximum length, in characters, of the error or reason quoted in a subject. The body
# has it in full.
SUBJECT_DETAIL_LENGTH = 100

KIND_LABELS = {
    RUN_FAILED: "failed or incomplete runs",
    RUN_SUSPECT: "suspect runs",
    BLOCKED: "firewall blocks",
}
# Noun for one occurrence of each kind, in the singular and the plural.
_OCCURRENCE_NOUNS = {
    RUN_FAILED: ("run", "runs"),
    RUN_SUSPECT: ("run", "runs"),
    BLOCKED: ("pause", "pauses"),
}
_ADVICE = {
    RUN_FAILED: "The run report lists every failed search with its error. "
    "`durban-valuations scrape` starts a new run.",
    RUN_SUSPECT: "A suspect run marks no property as not seen. Compare its counts with "
    "the last complete run in GET /runs.",
    BLOCKED: "If blocks keep coming, lower REQUEST_RATE or REQUEST_CONCURRENCY, or raise "
    "BLOCK_PAUSE_SECONDS.",
}


@dataclass(frozen=True, slots=True)
class Mail:
    """Subject and plain-text body of one alert mail."""

    subject: str
    body: str


def failed_summary(details: Mapping[str, Any]) -> str:
    """Return the one-line summary of a failed or incomplete run."""
    if details.get("status") == "failed":
        return _one_line(details.get("error")) or "no error was recorded"
    failed = _int(details, "failed_searches")
    if failed:
        return f"{_plural(failed, 'search', 'searches')} failed"
    # An incomplete run without failed searches had failed details pages.
    return "details pages failed to load"


def blocked_summary(details: Mapping[str, Any]) -> str:
    """Return the one-line summary of a `blocked_pause` event."""
    blocks = _int(details, "blocks_in_a_row")
    pause = _float(details, "pause_seconds")
    return (
        f"the site blocked {_plural(blocks, 'request', 'requests')} in a row, so every "
        f"request paused for {pause:g} s (last blocked: {details.get('url') or 'unknown'})"
    )


def problem_mail(
    incident: IncidentRecord,
    details: Mapping[str, Any],
    run: ScrapeRunRecord | None,
    api_url: str | None,
) -> Mail:
    """Compose the alert mail that an incident opens with.

    `details` are those of the event that sends it: the run's `run_finished` event for
    the run kinds, the `blocked_pause` event for `blocked`.
    """
    run_id = _int(details, "run_id")
    if incident.kind == BLOCKED:
        opening = _blocked_headline(run_id, details)
        subject = (
            f"Scrape run {run_id} blocked: {_int(details, 'blocks_in_a_row')} requests in a row, "
            f"pausing {_float(details, 'pause_seconds'):g} s"
        )
    elif incident.kind == RUN_SUSPECT:
        reason = _one_line(details.get("suspect_reason")) or incident.summary
        opening = _wrap(f"Scrape run {run_id} is suspect: {reason}")
        subject = f"Scrape run {run_id} suspect: {_shorten(reason)}"
    elif details.get("status") == "failed":
        opening = _wrap(f"Scrape run {run_id} failed: {incident.summary}")
        subject = f"Scrape run {run_id} failed: {_shorten(incident.summary)}"
    else:
        opening = _wrap(f"Scrape run {run_id} is incomplete: {incident.summary}")
        subject = f"Scrape run {run_id} incomplete: {_shorten(incident.summary)}"

    sections = [opening, _run_section(run_id, details, run)]
    if incident.kind != BLOCKED:
        sections += [_rolls_section(details), _counts_section(details)]
    sections += [
        _incident_section(incident),
        _where_section(run_id, api_url, _ADVICE[incident.kind]),
    ]
    return Mail(f"{SUBJECT_PREFIX} {subject}", "\n\n".join(sections) + "\n")


def recovery_mail(
    incidents: Sequence[IncidentRecord],
    details: Mapping[str, Any],
    run: ScrapeRunRecord | None,
    api_url: str | None,
) -> Mail:
    """Compose the one mail that lists the incidents closed by a complete run."""
    run_id = _int(details, "run_id")
    kinds = [kind for kind in KIND_LABELS if any(item.kind == kind for item in incidents)]
    subject = f"Scrape run {run_id} recovered: " + ", ".join(KIND_LABELS[kind] for kind in kinds)
    closed = "\n".join(_recovered_item(incident, run_id) for incident in incidents)
    sections = [
        _wrap(f"Scrape run {run_id} completed and is not suspect, so these incidents are closed:"),
        closed,
        _run_section(run_id, details, run),
        _rolls_section(details),
        _counts_section(details),
        _where_section(run_id, api_url, None),
    ]
    return Mail(f"{SUBJECT_PREFIX} {subject}", "\n\n".join(sections) + "\n")


def _blocked_headline(run_id: int, details: Mapping[str, Any]) -> str:
    blocks = _int(details, "blocks_in_a_row")
    pause = _float(details, "pause_seconds")
    rate = _float(details, "request_rate")
    text = (
        f"The site's firewall blocked {_plural(blocks, 'request', 'requests')} in a row "
        f"during scrape run {run_id}, so every request pauses for {pause:g} s and then "
        f"resumes at {rate:.3g} requests/s. The run goes on."
    )
    return f"{_wrap(text)}\n\nLast blocked URL: {details.get('url') or 'unknown'}"


def _run_section(run_id: int, details: Mapping[str, Any], run: ScrapeRunRecord | None) -> str:
    status = str(details.get("status") or (run.status if run else "unknown"))
    if details.get("suspect_reason"):
        status += ", suspect"
    if details.get("resumed"):
        status += ", resumed"
    fields = [("status", status)]
    if run is not None:
        fields += [
            ("roll year", str(run.roll_year)),
            ("rolls", run.rolls),
            ("source", run.source_url),
        ]
    if details.get("scope"):
        fields.append(("scope", str(details["scope"])))
    if run is not None:
        fields.append(("started", _timestamp(run.started_at)))
        if run.finished_at is not None:
            fields.append(("finished", _timestamp(run.finished_at)))
    if details.get("error"):
        fields.append(("error", _indent_rest(str(details["error"]), 13)))
    if details.get("suspect_reason"):
        fields.append(("suspect", str(details["suspect_reason"])))
    lines = [f"Run {run_id}"] + [f"  {name + ':':<10} {value}" for name, value in fields]
    return "\n".join(lines)


def _rolls_section(details: Mapping[str, Any]) -> str:
    rolls = details.get("rolls") or []
    if not rolls:
        return "Rolls\n  no roll was crawled"
    lines = ["Rolls"]
    for item in rolls:
        lines.append(
            f"  {item.get('roll', '?')}: "
            f"{_plural(_int(item, 'properties'), 'property', 'properties')}, "
            f"{_plural(_int(item, 'searches'), 'search', 'searches')}, "
            f"{_int(item, 'failed_searches'):,} failed, {_int(item, 'pending'):,} pending"
        )
    return "\n".join(lines)


def _counts_section(details: Mapping[str, Any]) -> str:
    def count(key: str) -> str:
        return f"{_int(details, key):,}"

    return "\n".join(
        [
            "Counts",
            f"  failed searches: {count('failed_searches')}",
            f"  properties: {count('inserted')} inserted, {count('updated')} updated, "
            f"{count('unchanged')} unchanged, {count('not_seen')} not seen",
            f"  requests: {count('requests')}, retries: {count('retries')}, "
            f"blocks: {count('blocks')}",
        ]
    )


def _incident_section(incident: IncidentRecord) -> str:
    singular, plural = _OCCURRENCE_NOUNS[incident.kind]
    sentences = [
        f"Opened by run {_run_label(incident.opened_by_run_id)} at "
        f"{_timestamp(incident.opened_at)}."
    ]
    if incident.occurrences > 1:
        sentences.append(
            f"Seen in {_plural(incident.occurrences, singular, plural)} so far, the latest "
            f"in run {_run_label(incident.last_run_id)}."
        )
    if incident.mail_error:
        sentences.append(f"An earlier alert mail could not be sent: {incident.mail_error}")
    sentences.append(
        f"Until a complete run closes this incident, further {KIND_LABELS[incident.kind]} "
        "add to its count without another mail."
    )
    return "Incident\n" + "\n".join(_wrap(sentence, "  ") for sentence in sentences)


def _recovered_item(incident: IncidentRecord, run_id: int) -> str:
    singular, plural = _OCCURRENCE_NOUNS[incident.kind]
    label = KIND_LABELS[incident.kind]
    lines = [
        _wrap(
            f"{label[0].upper()}{label[1:]} since run {_run_label(incident.opened_by_run_id)} "
            f"({_timestamp(incident.opened_at)}): "
            f"{_plural(incident.occurrences, singular, plural)}, the latest in run "
            f"{_run_label(incident.last_run_id)}.",
            "  - ",
            "    ",
        ),
        _wrap(f"Last: {incident.summary}", "    "),
    ]
    if incident.resolved_by_run_id is not None and incident.resolved_by_run_id != run_id:
        lines.append(f"    Closed by run {incident.resolved_by_run_id}; this mail was delayed.")
    if incident.mailed_at is None:
        lines.append("    The alert mail about it was never sent.")
    return "\n".join(lines)


def _where_section(run_id: int, api_url: str | None, advice: str | None) -> str:
    if api_url:
        report = f"{api_url.rstrip('/')}/runs/{run_id}"
    else:
        report = f"GET /runs/{run_id} on the API (`durban-valuations serve` starts it)"
    lines = [
        "Where to look",
        f"  Run report: {report}",
        _wrap(
            f"Log: the records with run_id {run_id} in the log of the process that ran the scrape",
            "  ",
            "    ",
        ),
    ]
    if advice:
        lines.append(_wrap(advice, "  "))
    return "\n".join(lines)


def _wrap(text: str, indent: str = "", rest_indent: str | None = None) -> str:
    """Wrap prose at BODY_WIDTH, never inside a URL or other long word."""
    return textwrap.fill(
        text,
        width=BODY_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent if rest_indent is None else rest_indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_label(run_id: int | None) -> str:
    return "?" if run_id is None else str(run_id)


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count:,} {singular if count == 1 else plural}"


def _one_line(value: object) -> str:
    """Return `value` as text on one line, with runs of whitespace collapsed."""
    return " ".join(str(value).split()) if value else ""


def _shorten(value: str) -> str:
    line = _one_line(value)
    if len(line) <= SUBJECT_DETAIL_LENGTH:
        return line
    return line[: SUBJECT_DETAIL_LENGTH - 3].rstrip() + "..."


def _indent_rest(value: str, width: int) -> str:
    return value.replace("\n", "\n" + " " * width)


def _int(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(details: Mapping[str, Any], key: str) -> float:
    value = details.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
