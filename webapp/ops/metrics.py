"""Prometheus metrics: event counters kept by prometheus_client, state gauges read from the database.

Several gunicorn workers are several processes, each with its own counters. Two mechanisms cover that:
- counters and histograms (actions, request latency, timers fired and their lag) use prometheus_client's
  multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set: every process (web workers and the timer worker on
  the same host) writes to that folder and any web worker's /metrics adds them up (deploy/ sets it up, and
  deploy/gunicorn.conf.py marks exited workers dead). Without it, a single process reports its own counts.
- figures that are state (applications by status, waiting and overdue timers, open incidents, worker
  heartbeat age, timers fired by live workers) are read from the database on each scrape, so they are
  the same whichever process answers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

ACTIONS = Counter(
    "zhicheng_actions",
    "Task completions asked for through the web, by stage and outcome (completed, refused, invalid).",
    ["stage", "outcome"],
)
REQUESTS = Histogram(
    "zhicheng_request_duration_seconds",
    "Web request latency by endpoint.",
    ["endpoint", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TIMERS_FIRED = Counter("zhicheng_timers_fired", "Timers fired by the timer workers.", ["timer"])
TIMER_LAG = Histogram(
    "zhicheng_timer_lag_seconds",
    "Seconds between a timer's due time and its firing (engine clock).",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400),
)
TIMER_FAILURES = Counter("zhicheng_timer_failures", "Timer firings that failed and will be retried.")
INCIDENTS = Counter("zhicheng_incidents_raised", "Incidents raised: a timer that kept failing was parked.")


def observe_tick(report, now) -> None:
    """Count what one worker sweep did (a TickReport), with each timer's lag behind `now`."""
    for _app_id, name, due_at in report.fired:
        TIMERS_FIRED.labels(timer=name).inc()
        TIMER_LAG.observe(max(0.0, (now - due_at).total_seconds()))
    if report.failed:
        TIMER_FAILURES.inc(len(report.failed))
    if report.incidents:
        INCIDENTS.inc(len(report.incidents))


class DatabaseCollector:
    """Gauges computed by engine.ops.gauges at scrape time."""

    def __init__(self, read):
        self.read = read  # () -> engine.ops.Gauges

    def collect(self):
        try:
            g = self.read()
        except Exception:  # noqa: BLE001 - a scrape while the database is down says so instead of failing
            yield GaugeMetricFamily(
                "zhicheng_database_up", "1 when the database answered this scrape.", value=0
            )
            return
        yield GaugeMetricFamily("zhicheng_database_up", "1 when the database answered this scrape.", value=1)
        status = GaugeMetricFamily("zhicheng_applications", "Applications by status.", labels=["status"])
        for name, count in sorted(g.applications_by_status.items()):
            status.add_metric([name], count)
        yield status
        yield GaugeMetricFamily("zhicheng_timers_waiting", "Timers waiting to fire.", value=g.timers_waiting)
        yield GaugeMetricFamily(
            "zhicheng_timers_overdue", "Timers past their due time.", value=g.timers_overdue
        )
        yield GaugeMetricFamily(
            "zhicheng_timer_oldest_overdue_seconds",
            "How long the oldest overdue timer has been due (engine clock).",
            value=g.oldest_overdue_seconds,
        )
        yield GaugeMetricFamily("zhicheng_incidents_open", "Unresolved incidents.", value=g.incidents_open)
        yield GaugeMetricFamily(
            "zhicheng_worker_fired_timers",
            "Timers fired by the workers alive in the last day (from their heartbeats).",
            value=g.workers_fired_total,
        )
        outbox = GaugeMetricFamily(
            "zhicheng_outbox_pending", "Reminders waiting to be sent, by channel.", labels=["channel"]
        )
        for channel in sorted({"email", "sms", *g.outbox_pending}):
            outbox.add_metric([channel], g.outbox_pending.get(channel, 0))
        yield outbox
        if g.heartbeat_age_seconds is not None:
            yield GaugeMetricFamily(
                "zhicheng_worker_heartbeat_age_seconds",
                "Seconds since a timer worker last swept (real time).",
                value=g.heartbeat_age_seconds,
            )


def exposition(read_gauges) -> tuple[bytes, str]:
    """The text of /metrics: this process's (or all processes') counters, then the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    state = CollectorRegistry()
    state.register(DatabaseCollector(read_gauges))
    return generate_latest(counters) + generate_latest(state), CONTENT_TYPE_LATEST
