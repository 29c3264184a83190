"""Logs: one line per request and every error, as text or JSON lines (ZHICHENG_LOG_FORMAT), each with the
request id that the 500 page shows, so a user's quote finds the traceback."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LOGGERS = ("zhicheng", "webapp")  # our access log, and Flask's app.logger (unhandled exceptions)
_FIELDS = ("method", "path", "endpoint", "status", "duration_ms", "user_id", "remote_addr")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        entry.update({k: getattr(record, k) for k in _FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonLinesFormatter.converter = time.gmtime
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(fmt: str, level: str) -> logging.Handler:
    """Send our loggers to stderr as `fmt` ("json" or "text"); idempotent across app instances."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler._zhicheng = True  # marks the handler this function owns
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_zhicheng", False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False
    return handler


def install_request_hooks(app: Flask, on_done=None) -> None:
    """Request id in, timing and an access log line out; `on_done(endpoint, method, seconds)` for metrics."""
    access = logging.getLogger("zhicheng.request")

    @app.before_request
    def start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        g.request_started = time.perf_counter()

    @app.after_request
    def finish(response):
        started = g.get("request_started")
        if started is None:
            return response
        seconds = time.perf_counter() - started
        response.headers["X-Request-ID"] = g.request_id
        endpoint = request.endpoint or "unmatched"
        if on_done is not None:
            on_done(endpoint, request.method, seconds)
        from flask_login import current_user

        access.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "user_id": getattr(current_user, "id", None) if current_user else None,
                "remote_addr": request.remote_addr,
            },
        )
        return response
