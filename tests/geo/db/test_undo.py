"""Undo in the store's transaction: values no longer valid are refused, naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InputError
from geo.services import registry, undo
from geo.services.transaction import unit_of_work
from geo.store import stations

pytestmark = pytest.mark.db


def test_an_amenity_gone_from_the_vocabulary_is_not_put_back(session: Session) -> None:
    values = {"type_code": "love_station", "name": "撤销校验驿站", "address": "", "status": "open",
              "opening_hours": {}, "amenities": ["water", "books"], "phone": None, "managing_union": None,
              "is_demo": False, "source": ""}
    with unit_of_work(session, actor="key:甲"):
        station_id = stations.insert_stations(session, [values | {"lon": 115.99, "lat": 29.71}])[0]
        stations.update_station(session, station_id, values | {"amenities": ["water"]}, 115.99, 29.71,
                                expected_version=1)
    change = stations.history_rows(session, station_id)[-1]["id"]
    without_books = registry.Vocabulary(types=frozenset({"love_station"}), amenities=frozenset({"water"}))
    with pytest.raises(InputError) as refused:
        undo.undo(session, station_id, change, expected_version=2, vocabulary=without_books)
    assert refused.value.field == "amenities" and "books" in refused.value.reason
    session.rollback()
    with_books = registry.Vocabulary(types=frozenset({"love_station"}), amenities=frozenset({"water", "books"}))
    with unit_of_work(session, actor="key:乙"):
        assert undo.undo(session, station_id, change, expected_version=2, vocabulary=with_books) == 3
    amenities, actor, action = session.execute(text(
        "SELECT s.amenities, h.changed_by, h.action FROM station s JOIN station_history h ON h.station_id = s.id "
        "WHERE s.id = :id ORDER BY h.id DESC LIMIT 1"), {"id": station_id}).one()
    assert (amenities, actor, action) == (["water", "books"], "key:乙", "undo")
