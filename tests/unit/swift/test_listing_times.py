"""Listing times: the fast formatter agrees with datetime's to the microsecond."""

from __future__ import annotations

import datetime
import random

from cumulo.swift.common import iso_time


def test_iso_time_matches_datetime_rounding() -> None:
    rng = random.Random(5)
    samples = [rng.uniform(0, 4e9) for _ in range(20000)]
    samples += [0.0, 1.9999995, 1700000000.9999996, 1700000000.0000005, 1e9 + 0.5e-6]
    for when in samples:
        expected = datetime.datetime.fromtimestamp(when, datetime.UTC)
        assert iso_time(when) == expected.strftime("%Y-%m-%dT%H:%M:%S.%f"), when
