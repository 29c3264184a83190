"""Thin Flask UI and CLI over the engine."""
from __future__ import annotations

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Application factory: config from the environment, overridden by `config` (tests)."""
    app = Flask(__name__, instance_relative_config=True)
    from .config import Config

    app.config.from_object(Config())
    if config:
        app.config.update(config)
    return app
