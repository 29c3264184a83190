"""Working-day calendars (Asia/Shanghai). Pure Python on `holidays`: no I/O beyond reading its own data."""
