"""Card sample time series: reading with downsampling, and retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import fmean

from django.utils import timezone

from fleet.models import Card, CardSample

RANGES: dict[str, tuple[timedelta, int]] = {
    # range: (how far back, bucket seconds); long ranges are averaged to a few hundred points
    "1h": (timedelta(hours=1), 0),
    "24h": (timedelta(hours=24), 300),
    "7d": (timedelta(days=7), 1800),
}
FIELDS = ("hbm_used_mb", "aicore_pct", "temp_c", "power_w")


def series(card: Card, range_name: str = "1h", *, now: datetime | None = None) -> list[dict]:
    """Points of one card over a range, averaged per bucket for the long ranges."""
    if range_name not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}")
    span, bucket = RANGES[range_name]
    now = now or timezone.now()
    start = now - span
    rows = (
        CardSample.objects.filter(card=card, at__gte=start, at__lte=now)
        .order_by("at")
        .values_list("at", *FIELDS)
    )
    if not bucket:
        return [
            {"at": row[0].isoformat(), **dict(zip(FIELDS, row[1:], strict=True))} for row in rows
        ]
    buckets: dict[int, list[tuple]] = {}
    for row in rows:
        buckets.setdefault(int((row[0] - start).total_seconds() // bucket), []).append(row)
    points = []
    for slot in sorted(buckets):
        group = buckets[slot]
        point: dict = {"at": (start + timedelta(seconds=slot * bucket)).isoformat()}
        for index, name in enumerate(FIELDS, start=1):
            values = [r[index] for r in group if r[index] is not None]
            point[name] = round(fmean(values), 1) if values else None
        points.append(point)
    return points


def prune(cutoff: datetime) -> int:
    """Delete samples older than the cutoff; returns how many."""
    deleted, _ = CardSample.objects.filter(at__lt=cutoff).delete()
    return deleted
