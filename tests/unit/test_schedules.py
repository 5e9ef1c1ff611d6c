"""Daily jobs run at the brand's local wall-clock time, whatever TIMEZONE says."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from bot import tasks


@pytest.fixture
def zone(runtime, monkeypatch):
    def set_zone(name: str) -> None:
        monkeypatch.setattr(runtime, "settings", replace(runtime.settings, timezone=name))
        monkeypatch.setattr(tasks, "get_runtime", lambda: runtime)

    return set_zone


def test_the_birthday_coupons_go_out_at_nine_in_taipei(zone):
    zone("Asia/Taipei")
    nine = tasks.local_crontab(hour=9, minute=0)
    assert nine(datetime(2026, 3, 14, 1, 0))  # Huey asks with naive UTC: 01:00 UTC is 09:00 in Taipei
    assert not nine(datetime(2026, 3, 14, 9, 0))


def test_the_same_job_follows_another_brand_zone_and_its_summer_time(zone):
    zone("Europe/London")
    nine = tasks.local_crontab(hour=9, minute=0)
    assert nine(datetime(2026, 1, 14, 9, 0))  # GMT in winter
    assert nine(datetime(2026, 7, 14, 8, 0))  # BST in summer
    assert not nine(datetime(2026, 7, 14, 9, 0))


def test_the_monthly_review_runs_on_the_first_local_day(zone):
    zone("Asia/Taipei")
    review = tasks.local_crontab(day=1, hour=10, minute=30)
    assert review(datetime(2026, 12, 1, 2, 30))
    assert not review(datetime(2026, 11, 30, 2, 30))
