"""The engine clock the web app runs on (config ZHICHENG_CLOCK; SystemClock by default)."""

from __future__ import annotations

from flask import current_app

from engine.clock import Clock


def get_clock() -> Clock:
    """The app's Clock; tests and the sandbox put a FixedClock or SimulatedClock in the config."""
    return current_app.config["ZHICHENG_CLOCK"]
