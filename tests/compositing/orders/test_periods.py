from datetime import date

import pytest

from compositing.orders.periods import period_bounds


@pytest.mark.parametrize("kind,day,expected", [
    ("day", date(2023, 2, 14), (date(2023, 2, 14), date(2023, 2, 14))),
    ("tenday", date(2023, 1, 10), (date(2023, 1, 1), date(2023, 1, 10))),
    ("tenday", date(2023, 1, 11), (date(2023, 1, 11), date(2023, 1, 20))),
    ("tenday", date(2023, 1, 31), (date(2023, 1, 21), date(2023, 1, 31))),
    ("tenday", date(2024, 2, 25), (date(2024, 2, 21), date(2024, 2, 29))),
    ("month", date(2023, 2, 14), (date(2023, 2, 1), date(2023, 2, 28))),
    ("quarter", date(2023, 5, 5), (date(2023, 4, 1), date(2023, 6, 30))),
    ("quarter", date(2023, 12, 31), (date(2023, 10, 1), date(2023, 12, 31))),
    ("year", date(2023, 7, 1), (date(2023, 1, 1), date(2023, 12, 31))),
])
def test_periods_are_aligned_as_s2gm_aligned_them(kind, day, expected):
    assert period_bounds(kind, day) == expected
