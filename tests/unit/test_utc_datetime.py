"""UTCDateTime's SQLite bind shortcut writes exactly what SQLAlchemy's own two-step conversion writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from engine.accounts.models import UTCDateTime

SQLITE = sqlite.dialect()
FAST = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
REFERENCE = TypeDecorator.bind_processor(UTCDateTime().dialect_impl(SQLITE), SQLITE)
ZONES = st.sampled_from([UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")])


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES),
)
def test_sqlite_text_is_sqlalchemys(value):
    assert FAST(value) == REFERENCE(value)


def test_none_and_naive():
    assert FAST(None) is None
    with pytest.raises(ValueError, match="naive"):
        FAST(datetime(2020, 11, 20, 10))
    assert FAST(datetime(2020, 11, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai")) + timedelta(0)) == (
        "2020-11-20 02:00:00.000000"
    )


def test_other_databases_keep_sqlalchemys_conversion():
    pg = postgresql.psycopg.dialect()
    value = datetime(2020, 11, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    processor = UTCDateTime().dialect_impl(pg).bind_processor(pg)
    converted = processor(value) if processor else value
    assert converted == datetime(2020, 11, 20, 2)
