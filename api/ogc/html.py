"""HTML pages of the OGC API (``?f=html`` or a browser's Accept): Chinese first, notices on top.

Items and feature pages carry a small Leaflet map of the page's own features: Leaflet and our
``ogc-map.js`` come from this app (``maps.assets``), never a CDN, and the features reach the script
as JSON in a ``<script type="application/json">`` block, escaped so that no text in it can end
the block; the script shows names with ``textContent`` only. No basemap from the internet: the
offline PMTiles file when one is configured, else a plain background. Property names and values
are shown in words (``api.ogc.labels``). Every value from the database is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from api.ogc import labels, tiles
from api.ogc.collections import Collection
from api.ogc.documents import outward_bbox
from api.ogc.features import HOURS_PROPERTIES
from geo.core import tilematrix
from geo.errors import NotFound
from geo.settings import Settings
from maps import assets, vector_basemap

LEAFLET = f"{assets.URL_PREFIX}/leaflet/dist/leaflet"
PROTOMAPS = f"{assets.URL_PREFIX}/protomaps-leaflet/dist/protomaps-leaflet.js"
STATION_COLUMNS = ("name", "status", "address", "opening_hours", "amenities", "phone", "township_code", "is_demo")
REGION_COLUMNS = ("name", "parent_code", "kind", "population", "population_is_modelled", "boundary_is_approximate",
                  "position_is_unknown")
GEOJSON = "application/geo+json"


def page(title: str, body: str, root: str | None = None, *, head: str = "", scripts: str = "") -> str:
    """A whole document around ``body`` (already escaped HTML); ``head`` and ``scripts`` are tags."""
    nav = (f'<nav aria-label="导航 navigation"><a href="{escape(root)}?f=html">首页 Home</a> · '
           f'<a href="{escape(root)}/collections?f=html">数据集 Collections</a> · '
           f'<a href="{escape(root)}/api?f=html">API 定义 API definition</a></nav>') if root else ""
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title>{head}<link rel="stylesheet" href="{assets.own_url("ogc.css")}"></head>'
            f"<body>{nav}<main><h1>{escape(title)}</h1>{body}</main>{scripts}</body></html>")


def notices(texts: Iterable[str]) -> str:
    """Warnings a reader must see before the data: demo rows, approximate boundaries, modelled people."""
    return "".join(f'<p class="notice">{escape(text)}</p>' for text in dict.fromkeys(texts))


def link_list(links: Sequence[Mapping[str, str]]) -> str:
    """Links as a list: title, relation and media type."""
    items = "".join(
        f'<li><a href="{escape(item["href"])}">{escape(item.get("title", item["href"]))}</a> '
        f'<small>({escape(item["rel"])}, {escape(item.get("type", ""))})</small></li>' for item in links)
    return f"<ul>{items}</ul>"


def landing(title: str, description: str, links: Sequence[Mapping[str, str]], warnings: Iterable[str],
            root: str) -> str:
    """The landing page."""
    return page(title, f"<p>{escape(description)}</p>{notices(warnings)}<h2>链接 Links</h2>{link_list(links)}", root)


def conformance(classes: Iterable[str], root: str) -> str:
    """The conformance classes as links."""
    items = "".join(f'<li><a href="{escape(uri)}">{escape(uri)}</a></li>' for uri in classes)
    return page("符合性声明 Conformance", f"<ul>{items}</ul>", root)


def _bbox(collection: Collection) -> str:
    if collection.bbox is None:
        return "—"
    return ", ".join(f"{value:.5f}" for value in collection.bbox) + "（经度/纬度 lon/lat, CRS84）"


def collections(root: str, found: Sequence[Collection]) -> str:
    """A table of every collection with its notices."""
    rows = "".join(
        f'<tr><td><a href="{escape(root)}/collections/{escape(item.id)}?f=html">{escape(item.title)}</a></td>'
        f"<td>{escape(item.id)}</td><td>{item.count}</td><td>{escape(item.description)}</td></tr>"
        for item in found)
    body = (notices(text for item in found for text in item.notices)
            + _table('<tr><th scope="col">名称 Title</th><th scope="col">id</th><th scope="col">要素数 Features</th>'
                     f'<th scope="col">说明 Description</th></tr>{rows}', "数据集 collections"))
    return page("数据集 Collections", body, root)


def collection(root: str, found: Collection, basemap: Mapping[str, str] | None = None) -> str:
    """One collection's description, extent, filters and links to its items; a map of the whole
    collection drawn from its vector tiles when it has tiles and an extent (``_tile_map``)."""
    url = f"{root}/collections/{found.id}"
    filters = "".join(f"<li><code>{escape(spec.name)}</code>：{escape(spec.description)}</li>"
                      for spec in found.filters)
    hours = "".join(f"<li><code>{escape(name)}</code>：{escape(text)}</li>" for name, text in HOURS_PROPERTIES.items())
    map_head, map_body, scripts = _tile_map(root, found, basemap)
    body = (notices(found.notices) + f"<p>{escape(found.description)}</p>"
            f"<p>要素数 Features: {found.count}<br>范围 Extent: {escape(_bbox(found))}</p>"
            f'<p><a href="{escape(url)}/items?f=html">浏览要素 Browse features</a> · '
            f'<a href="{escape(url)}/items">GeoJSON</a> · <a href="{escape(url)}?f=json">JSON</a></p>'
            + map_body
            + (f"<h2>筛选参数 Filters</h2><ul>{filters}</ul>" if filters else "")
            + (f"<h2>开放时间属性 Opening hours properties</h2><ul>{hours}</ul>" if found.kind == "stations" else ""))
    return page(found.title, body, root, head=map_head, scripts=scripts)


def _tile_map(root: str, found: Collection, basemap: Mapping[str, str] | None) -> tuple[str, str, str]:
    """(head tags, HTML, script tags) of the collection page's map, drawn by protomaps-leaflet from the
    collection's own vector tiles (``api.ogc.tiles``): the proof, on a page a planner opens, that a
    Leaflet plug-in reads them. Nothing for a collection without tiles (coverage) or without an extent.

    The script (``ogc-tile-map.js``) loads tiles only inside ``bbox``, the collection's extent, which
    is what the tileset's ``tileMatrixSetLimits`` are made from: the tiles outside it are 404s.
    """
    try:
        kind = tiles.tile_kind(found)
    except NotFound:
        return "", "", ""
    if found.bbox is None:
        return "", "", ""
    tileset = f"{root}/collections/{found.id}/tiles/{tilematrix.ID}"
    config = {"tiles": tileset + "/{z}/{y}/{x}", "tileset": tileset, "layer": found.id, "kind": kind,
              "bbox": outward_bbox(found.bbox), "maxDataZoom": tiles.MAX_ZOOM, "basemap": basemap}
    legend = ('<span class="swatch swatch-point" aria-hidden="true"></span>站点 / stations' if kind == "stations"
              else '<span class="swatch swatch-area" aria-hidden="true"></span>区域边界 / boundaries')
    body = ('<figure class="tile-map"><div id="ogc-tile-map" class="ogc-map" role="region" '
            'aria-label="数据集全图（矢量瓦片）/ map of the whole collection (vector tiles)"></div>'
            f'<figcaption>{legend}。本图由本数据集的矢量瓦片（Mapbox Vector Tile）绘制 / drawn from this '
            f'collection\'s vector tiles: <a href="{escape(tileset)}?f=json" type="application/json">'
            "瓦片集元数据 / tileset metadata</a></figcaption></figure>"
            f'<script type="application/json" id="ogc-tile-map-config">{script_json(config)}</script>')
    scripts = f'<script src="{LEAFLET}.js"></script><script src="{PROTOMAPS}"></script>'
    if basemap:
        scripts += f'<script src="{assets.own_url("pmtiles-basemap.js")}"></script>'
    return (f'<link rel="stylesheet" href="{LEAFLET}.css">', body,
            scripts + f'<script src="{assets.own_url("ogc-tile-map.js")}"></script>')


def _table(rows: str, label: str) -> str:
    """A table in a box that scrolls sideways on a narrow screen, so the page itself never does."""
    return f'<div class="table-box" role="region" aria-label="{escape(label)}" tabindex="0"><table>{rows}</table></div>'


def _header(key: str) -> str:
    zh, en = labels.name(key)
    return escape(zh) if zh == en else f'{escape(zh)} <span class="en" lang="en">{escape(en)}</span>'


def _columns(found: Collection, features: Sequence[Mapping[str, Any]]) -> list[str]:
    if found.kind == "stations":
        return list(STATION_COLUMNS)
    if found.kind == "regions":
        return list(REGION_COLUMNS)
    keys = features[0]["properties"] if features else {}
    return ["name", "population"] + [key for key in keys if key.endswith("_covered_share")]


def script_json(value: object) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` as ``\\u`` escapes,
    so no text (a hostile station name with ``</script>``) can end the block or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def map_features(features: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The features ``ogc-map.js`` draws: those with a geometry, with their id and a name to show."""
    return [{"type": "Feature", "id": feature["id"], "geometry": feature["geometry"],
             "properties": {"name": str(feature["properties"].get("name") or feature["id"])}}
            for feature in features if feature.get("geometry")]


def _map(features: Sequence[Mapping[str, Any]], items_url: str,
         basemap: Mapping[str, str] | None) -> tuple[str, str, str]:
    """(head tags, the map's HTML, script tags) of a page's small map; nothing when nothing is drawn.

    The script reads the features, the URL their pages hang under and the offline basemap (if any).
    """
    drawn = map_features(features)
    if not drawn:
        return "", "", ""
    config = {"itemsUrl": items_url, "basemap": basemap, "features": {"type": "FeatureCollection", "features": drawn}}
    head = f'<link rel="stylesheet" href="{LEAFLET}.css">'
    body = ('<div id="ogc-map" class="ogc-map" role="region" aria-label="本页要素地图 / map of this page\'s features">'
            '</div><script type="application/json" id="ogc-map-config">'
            f"{script_json(config)}</script>")
    scripts = f'<script src="{LEAFLET}.js"></script>'
    if basemap:
        scripts += f'<script src="{PROTOMAPS}"></script><script src="{assets.own_url("pmtiles-basemap.js")}"></script>'
    return head, body, scripts + f'<script src="{assets.own_url("ogc-map.js")}"></script>'


def _json_link(links: Sequence[Mapping[str, str]]) -> tuple[str, str]:
    """(a ``<link rel=alternate>`` for the head, the visible link) to this page's GeoJSON."""
    found = [item for item in links if item["rel"] == "alternate" and item["type"] == GEOJSON]
    if not found:
        return "", ""
    href = escape(found[0]["href"])
    return (f'<link rel="alternate" type="{GEOJSON}" href="{href}">',
            f'<a href="{href}" type="{GEOJSON}">GeoJSON（本页 / this page）</a>')


def items(found: Collection, features: Sequence[Mapping[str, Any]], matched: int, offset: int,
          links: Sequence[Mapping[str, str]], root: str, basemap: Mapping[str, str] | None = None) -> str:
    """One page of features: notices, a map of them, links to the JSON, a table, paging links."""
    columns = _columns(found, features)
    base = f"{root}/collections/{found.id}/items"
    header = '<th scope="col">id</th>' + "".join(f'<th scope="col">{_header(name)}</th>' for name in columns)
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/{escape(str(feature["id"]))}?f=html">{escape(str(feature["id"]))}</a></td>'
        + "".join(f"<td>{escape(labels.value(name, feature['properties'].get(name)))}</td>" for name in columns)
        + "</tr>" for feature in features)
    paging = " · ".join(f'<a rel="{escape(item["rel"])}" href="{escape(item["href"])}">{escape(item["title"])}</a>'
                        for item in sorted(links, key=lambda item: item["rel"] != "prev")
                        if item["rel"] in ("prev", "next"))
    shown = f"{offset + 1}–{offset + len(features)}" if features else "0"
    alternate, json_link = _json_link(links)
    map_head, map_body, scripts = _map(features, base, basemap)
    body = (notices(found.notices)
            + f"<p>第 {shown} 个，共 {matched} 个要素 / features {shown} of {matched}</p>"
            f'<p class="formats">{json_link} · <a href="{escape(root)}/collections/{escape(found.id)}?f=html">'
            f"数据集说明 / about the collection</a></p>{map_body}"
            + _table(f"<tr>{header}</tr>{rows}", "要素表 / features")
            + (f'<nav class="paging" aria-label="分页 / pages">{paging}</nav>' if paging else ""))
    return page(found.title, body, root, head=alternate + map_head, scripts=scripts)


def feature(found: Collection, document: Mapping[str, Any], links: Sequence[Mapping[str, str]], root: str,
            basemap: Mapping[str, str] | None = None) -> str:
    """One feature: its own notices, a map of it, links to its JSON and collection, its properties in words."""
    properties = document["properties"]
    rows = "".join(f'<tr><th scope="row">{_header(str(key))} <code>{escape(str(key))}</code></th>'
                   f"<td>{escape(labels.value(str(key), raw))}</td></tr>" for key, raw in properties.items())
    geometry = document.get("geometry") or {}
    base = f"{root}/collections/{found.id}/items"
    alternate, json_link = _json_link(links)
    map_head, map_body, scripts = _map([document], base, basemap)
    name = properties.get("name") or document["id"]
    body = (notices(labels.feature_notices(properties))
            + f'<p class="formats">{json_link} · <a href="{escape(base)}?f=html">本数据集全部要素 / all features</a>'
              f' · 数据集 Collection: <a href="{escape(root)}/collections/{escape(found.id)}?f=html">'
              f"{escape(found.title)}</a> · 几何 Geometry: {escape(str(geometry.get('type', '—')))}</p>"
            + map_body + _table(rows, "属性 / properties"))
    return page(f"{name} · {found.title}", body, root, head=alternate + map_head, scripts=scripts)


def offline_basemap(settings: Settings) -> dict[str, str] | None:
    """The offline PMTiles basemap for the page's map when one is configured and present, else None:
    the internet's tile servers are never drawn here (``maps.vector_basemap``)."""
    if settings.drawn_basemap != "pmtiles":
        return None
    return {"url": vector_basemap.URL, "flavor": vector_basemap.FLAVOR, "lang": vector_basemap.LANG,
            "attribution": vector_basemap.ATTRIBUTION}
