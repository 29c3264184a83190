"""gunicorn settings for zhicheng: `gunicorn -c /etc/zhicheng/gunicorn.conf.py` (deploy/systemd/zhicheng-web.service)."""

import os

wsgi_app = "webapp:create_app()"
bind = os.environ.get("ZHICHENG_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = 60
accesslog = None  # the app logs every request itself, with its request id (ZHICHENG_LOG_FORMAT)
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"


def child_exit(server, worker):
    """A web worker that exits leaves its Prometheus counters behind for the others to add up, marked dead."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
