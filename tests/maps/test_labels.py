"""Place names on the maps: anchors inside their units, priorities, zoom thresholds, escaped text,
the region's places with their names, and the labels on every served map page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geo.reference.layers import read_places
from geo.reference.region import load_config
from geo.services.map_data import MapData, with_places
from maps import labels
from maps.assets import render
from maps.basemap import get_basemap
from maps.layers import add_boundaries

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
HOSTILE = "<img src=x onerror=alert(1)>"
NONE = get_basemap("none")
# A "C" about 10 km across near Jiujiang, open to the east: its centroid lies in the opening.
C_SHAPE = box(116.0, 29.5, 116.1, 29.6).difference(box(116.02, 29.52, 116.1, 29.58))
ROWS = re.compile(r"\}\)\(map_\w+, place_labels_\w+, (\[.*?\])\);", re.S)


def frame(names: list[str], shapes: list, population: list[float] | None = None) -> gpd.GeoDataFrame:
    """Units (code, name, population) in WGS-84."""
    data = {"code": [f"{i:06d}" for i in range(len(names))], "name": names}
    if population is not None:
        data["population"] = population
    return gpd.GeoDataFrame(data, geometry=shapes, crs=4326)


def test_anchor_is_inside_a_c_shape_whose_centroid_is_not() -> None:
    assert not C_SHAPE.contains(C_SHAPE.centroid)  # the case the anchor exists for
    anchor = labels.anchor_points(frame(["C"], [C_SHAPE])).iloc[0]
    assert C_SHAPE.contains(anchor)
    # The widest part of the C is its 2 km-thick spine (116.00-116.02): the anchor is there.
    assert 116.0 < anchor.x < 116.02


def test_anchor_of_a_multi_part_unit_is_in_its_largest_part() -> None:
    island, mainland = box(116.30, 29.30, 116.31, 29.31), box(116.0, 29.0, 116.2, 29.2)
    anchor = labels.anchor_points(frame(["islands"], [MultiPolygon([island, mainland])])).iloc[0]
    assert mainland.contains(anchor)
    assert anchor.x == pytest.approx(116.1, abs=1e-3)  # on the box's north-south middle line


def test_anchors_keep_the_index_and_crs_and_fall_inside_thin_and_tiny_units() -> None:
    sliver = Polygon([(116.0, 29.0), (116.3, 29.0), (116.3, 29.0005), (116.0, 29.0005)])  # 30 km by 55 m
    tiny = box(116.5, 29.5, 116.5002, 29.5002)  # 20 m square, well below the 100 m tolerance
    units = frame(["sliver", "tiny", "c"], [sliver, tiny, C_SHAPE]).set_index(pd.Index([7, 3, 5]))
    anchors = labels.anchor_points(units)
    assert list(anchors.index) == [7, 3, 5] and anchors.crs == units.crs
    assert shapely.contains(units.geometry.to_numpy(), anchors.to_numpy()).all()


def test_rows_in_priority_order_with_each_class_zoom_threshold() -> None:
    counties = frame(["小县", "大县"], [box(116.0, 29.0, 116.2, 29.2), box(116.2, 29.0, 116.4, 29.2)], [1e5, 5e5])
    townships = frame(["甲镇", "乙乡"], [box(116.0, 29.0, 116.1, 29.1), box(116.1, 29.0, 116.2, 29.1)], [10.0, 20.0])
    places = gpd.GeoDataFrame({"name": ["Hangkou"]}, geometry=[shapely.Point(116.05, 29.05)], crs=4326)
    rows = labels.label_rows(counties, townships, places, NONE)
    assert [(row[2], row[3], row[4]) for row in rows] == [
        ("大县", 0, 0), ("小县", 0, 0), ("乙乡", 1, labels.TOWNSHIP_MIN_ZOOM), ("甲镇", 1, labels.TOWNSHIP_MIN_ZOOM),
        ("Hangkou", 2, labels.PLACE_MIN_ZOOM)]
    assert labels.TOWNSHIP_MIN_ZOOM < labels.PLACE_MIN_ZOOM
    # A box 0.2° square is taller than wide in metres: its widest points lie on the north-south middle line.
    assert rows[0][1] == pytest.approx(116.3, abs=1e-3) and 29.0 < rows[0][0] < 29.2
    assert rows[-1][:2] == [29.05, 116.05]


def test_rows_are_drawn_in_the_basemaps_datum() -> None:
    county = frame(["县"], [box(116.0, 29.0, 116.2, 29.2)], [1.0])
    wgs84 = labels.label_rows(county, None, None, NONE)[0]
    gcj02 = labels.label_rows(county, None, None, get_basemap("amap"))[0]
    shift = shapely.Point(gcj02[1], gcj02[0]).distance(shapely.Point(wgs84[1], wgs84[0]))
    assert 0.002 < shift < 0.01  # GCJ-02 moves Jiujiang by some hundred metres


def test_hostile_names_are_inert_in_the_page() -> None:
    map_ = folium.Map(tiles=None)
    counties = frame([HOSTILE], [box(116.0, 29.0, 116.2, 29.2)], [1.0])
    places = gpd.GeoDataFrame({"name": ["</script><script>alert(2)</script>"]},
                              geometry=[shapely.Point(116.1, 29.1)], crs=4326)
    add_boundaries(map_, counties, None, NONE, places=places)
    folium.LayerControl().add_to(map_)
    page = render(map_)
    rows = json.loads(ROWS.search(page)[1])
    assert [row[2] for row in rows] == ["&lt;img src=x onerror=alert(1)&gt;",
                                        "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;"]
    assert "<img src=x" not in page and "alert(2)</script>" not in page
    assert page.count("</script>") == page.count("<script")  # no script ended or started by a name
    assert f"{json.dumps(labels.LAYER_NAME)} : place_labels_" in page  # the layer control's switch


def test_labels_follow_the_townships_the_caller_names() -> None:
    """The coverage map draws its own township shapes: it hands their names over separately."""
    map_ = folium.Map(tiles=None)
    counties = frame(["县"], [box(116.0, 29.0, 116.2, 29.2)], [1.0])
    townships = frame(["镇"], [box(116.0, 29.0, 116.1, 29.1)], [1.0])
    add_boundaries(map_, counties, None, NONE, township_names=townships)
    rows = json.loads(ROWS.search(render(map_))[1])
    assert [(row[2], row[3]) for row in rows] == [("县", 0), ("镇", 1)]


def test_places_keep_their_names() -> None:
    places = read_places(load_config(DATA_DIR / "jiujiang"))
    assert list(places.columns) == ["name", "lon", "lat"] and len(places) == 212
    assert places.iloc[0].tolist() == ["Hangkou", pytest.approx(114.44184), pytest.approx(29.04739)]


def test_places_without_a_name_column_have_empty_names(tmp_path: Path) -> None:
    (tmp_path / "geonames_places.csv").write_text("lon,lat\n116.0,29.5\n", encoding="utf-8")
    places = read_places(load_config(DATA_DIR / "jiujiang").model_copy(update={"folder": tmp_path}))
    assert places["name"].tolist() == [""] and places["lon"].tolist() == [116.0]


def test_map_data_keeps_named_places_inside_the_counties_but_not_at_a_seat(tmp_path: Path) -> None:
    (tmp_path / "geonames_places.csv").write_text(
        "name,lon,lat\nInside,116.05,29.05\nOutside,117.5,29.05\n,116.1,29.1\n  Spaced  ,116.15,29.15\n"
        "Seat,116.10,29.05\nNearSeat,116.10,29.0525\n", encoding="utf-8")
    config = load_config(DATA_DIR / "jiujiang").model_copy(update={"folder": tmp_path})
    empty = gpd.GeoDataFrame(geometry=[], crs=4326)
    county = frame(["县"], [box(116.0, 29.0, 116.2, 29.2)])
    data = MapData("stations", county, empty, empty, [], False)
    assert data.places is None  # other builders' data is untouched by default
    placed = with_places(data, config).places
    assert placed is not None and placed.crs == 4326
    assert placed["name"].tolist() == ["Inside", "Spaced", "Seat", "NearSeat"]  # file order
    # A township's seat 280 m from "Seat" (that place is the seat) and 550 m from "NearSeat" (not it).
    townships = frame(["镇"], [box(116.0, 29.0, 116.2, 29.1)]).assign(seat=[shapely.Point(116.10, 29.0475)])
    placed = with_places(MapData("stations", county, townships, empty, [], False), config).places
    assert placed is not None and placed["name"].tolist() == ["Inside", "Spaced", "NearSeat"]


@pytest.mark.db
@pytest.mark.parametrize("url", ["/maps/stations", "/maps/coverage?type=love_station", "/maps/gaps",
                                 "/maps/plan?type=love_station&add=2"])
def test_every_map_labels_every_county_and_township(client: TestClient, session: Session, url: str) -> None:
    from geo.store import regions

    rows = json.loads(ROWS.search(client.get(url).text)[1])
    by_kind = {kind: [row[2] for row in rows if row[3] == index] for index, kind in enumerate(labels.KINDS)}
    counties = regions.regions_frame(session, "county").sort_values("population", ascending=False)
    assert by_kind["county"] == counties["name"].tolist()  # the database's names, largest first
    assert sorted(by_kind["township"]) == sorted(regions.regions_frame(session, "township")["name"])
    # 181 of the file's 212 places lie in the city; 168 of them are township seats, named by their township.
    assert len(by_kind["place"]) == 13 and "Jiujiang" in by_kind["place"]
    assert {row[4] for row in rows if row[3] == 2} == {labels.PLACE_MIN_ZOOM}


@pytest.mark.db
def test_the_station_map_has_labels(client: TestClient, session: Session) -> None:
    from sqlalchemy import text

    station_id = session.execute(text("SELECT min(id) FROM station")).scalar_one()
    rows = json.loads(ROWS.search(client.get(f"/maps/station/{station_id}").text)[1])
    assert sum(row[3] == 0 for row in rows) == 13
