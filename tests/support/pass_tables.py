"""Comparing pass tables: the same satellites, stations, warnings and columns, value for value."""

from __future__ import annotations

import numpy as np

from groundshare.passes import PassTable


def assert_same_table(got: PassTable, expected: PassTable) -> None:
    np.testing.assert_array_equal(got.norad_ids, expected.norad_ids)
    assert list(got.sat_names) == list(expected.sat_names)
    assert list(got.site_names) == list(expected.site_names)
    assert got.warnings == expected.warnings
    assert set(got.columns) == set(expected.columns)
    for name, values in expected.columns.items():
        np.testing.assert_array_equal(got.columns[name], values, err_msg=name)
