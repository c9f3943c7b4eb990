"""Downloads as the module page shows them (GoCenter showed them): the all-time total,
per version, and per day over the last 90 days (``download_days``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import DownloadDay, Module

CHART_DAYS = 90


@dataclass(frozen=True)
class Downloads:
    total: int  # all time (counted before per-day counts were kept, too)
    per_version: dict[str, int]  # since per-day counts were kept
    days: list[tuple[date, int]]  # the last CHART_DAYS days, oldest first, zeros included

    @property
    def recent(self) -> int:
        return sum(n for _day, n in self.days)

    @property
    def peak(self) -> int:
        return max((n for _day, n in self.days), default=0)


def downloads(session: Session, path: str, today: date, detailed: bool = True) -> Downloads:
    """``detailed``: per version and per day too (the Versions tab); else the total alone
    (the header of every other tab)."""
    module = session.execute(select(Module.id, Module.downloads).where(Module.path == path)
                             ).first()
    if module is None:
        return Downloads(0, {}, [])
    if not detailed:
        return Downloads(int(module.downloads or 0), {}, [])
    per_version = {version: int(n) for version, n in session.execute(
        select(DownloadDay.version, func.sum(DownloadDay.count))
        .where(DownloadDay.module_id == module.id, DownloadDay.version != "")
        .group_by(DownloadDay.version))}
    first = today - timedelta(days=CHART_DAYS - 1)
    daily = {day: int(n) for day, n in session.execute(
        select(DownloadDay.day, func.sum(DownloadDay.count))
        .where(DownloadDay.module_id == module.id, DownloadDay.day >= first)
        .group_by(DownloadDay.day))}
    days = [(first + timedelta(days=i), daily.get(first + timedelta(days=i), 0))
            for i in range(CHART_DAYS)]
    return Downloads(int(module.downloads or 0), per_version, days)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    day: date
    count: int


def chart_bars(days: list[tuple[date, int]], width: float = 360.0, height: float = 60.0
               ) -> list[Bar]:
    """One bar a day, scaled to the busiest day (an SVG the page draws without script)."""
    peak = max((n for _d, n in days), default=0) or 1
    step = width / max(1, len(days))
    bars = []
    for i, (day, n) in enumerate(days):
        h = round(height * n / peak, 2) if n else 0.0
        bars.append(Bar(round(i * step, 2), round(height - h, 2), h, day, n))
    return bars
