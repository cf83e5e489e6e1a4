"""The interactions input: id maps, duplicate merging and side-table attributes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelml.exceptions import DataError
from accelml.features.interactions import Interactions, SideTable, id_text


def test_ids_compare_by_text_so_42_and_42_point_0_are_one() -> None:
    inter = Interactions("u", "i").fit(pd.DataFrame({"u": [42.0, 7.0, np.nan], "i": ["a", "b", "c"]}).dropna())
    assert inter.users == ["42", "7"]
    assert inter.user_index([42, "7", "nobody"]).tolist() == [0, 1, -1]


def test_duplicated_pairs_average_ratings_and_keep_the_latest_time() -> None:
    log = pd.DataFrame({"u": [1, 1, 2, 1], "i": [5, 5, 5, 6], "r": [2.0, 4.0, 5.0, 1.0], "t": [10, 30, 20, 40]})
    inter = Interactions("u", "i", rating="r", time="t").fit(log)
    enc = inter.encode(log)
    assert inter.duplicates_merged == 1
    assert list(zip(enc.users.tolist(), enc.items.tolist(), enc.ratings.tolist(), enc.times.tolist())) == [
        (0, 0, 3.0, 30.0), (1, 0, 5.0, 20.0), (0, 1, 1.0, 40.0)]
    assert len(inter.encode(log, merge=False)) == 4


def test_extra_ids_from_side_tables_join_the_catalogue_and_the_state_round_trips() -> None:
    inter = Interactions("u", "i").fit(pd.DataFrame({"u": [1, 2], "i": [3, 4]}), extra_items=[9])
    assert inter.items == ["3", "4", "9"]
    again = Interactions.from_dict(inter.to_dict())
    assert again.items == inter.items and again.item_index([9]).tolist() == [2]


def test_side_table_encodes_flags_categories_and_number_bins_and_skips_free_text() -> None:
    table = pd.DataFrame({"i": [1, 2, 3, 4], "comedy": [1, 0, 1, 0], "kind": ["a", "b", "a", None],
                          "year": [1990, 1995, 2000, 2005], "title": ["w", "x", "y", "z"]})
    side = SideTable("i")
    matrix = side.fit_transform(table, ["1", "2", "3", "4", "5"])
    assert "comedy=1" in side.columns and "kind=a" in side.columns and "title" in side.skipped
    assert matrix.shape == (5, len(side.columns))
    assert matrix[4].sum() == 0  # an id the side table lacks
    assert matrix[:4, side.columns.index("comedy=1")].tolist() == [1, 0, 1, 0]
    assert (matrix[:4, [c.startswith("year=") for c in side.columns]].sum(axis=1) == 1).all()
    with pytest.raises(DataError, match="no column 'item'"):
        SideTable("item").fit_transform(table, ["1"])


def test_id_text_of_integers_and_strings() -> None:
    assert id_text(pd.Series([1, 2])).tolist() == ["1", "2"]
    assert id_text(["x", 1.5]).tolist() == ["x", "1.5"]


def test_without_times_pairs_merge_in_user_and_item_order() -> None:
    log = pd.DataFrame({"u": [2, 1, 1, 2, 1], "i": [5, 6, 5, 5, 6], "r": [1.0, 2.0, 3.0, 5.0, 4.0]})
    enc = Interactions("u", "i", rating="r").fit(log).encode(log)
    assert list(zip(enc.users.tolist(), enc.items.tolist(), enc.ratings.tolist())) == [
        (0, 0, 3.0), (0, 1, 3.0), (1, 0, 3.0)]
