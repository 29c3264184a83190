"""Persistence of applications: tables, one unit of work per action, work indexes, hash-chained history,
timer sweeps and the campaign simulator. Use cases live in `services`; nothing here imports Flask."""
