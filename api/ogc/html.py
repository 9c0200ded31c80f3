"""Minimal HTML pages of the OGC API (``?f=html``): Chinese first, notices on top, no scripts.

Self-contained on purpose (inline style, no external script or stylesheet), so the pages work
on an intranet without internet access. Every value from the database is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from api.ogc.collections import Collection
from api.ogc.features import HOURS_PROPERTIES

STYLE = ("body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;max-width:72rem;margin:1rem auto;"
         "padding:0 1rem;color:#222}a{color:#0b5cad}.notice{background:#fff3cd;border:1px solid #e0c36c;"
         "padding:.5rem 1rem;margin:1rem 0}table{border-collapse:collapse;margin:1rem 0}"
         "td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}"
         "nav{font-size:.9rem;margin-bottom:1rem}")
STATION_COLUMNS = ("name", "status", "address", "opening_hours", "amenities", "phone", "township_code", "is_demo")
REGION_COLUMNS = ("name", "parent_code", "kind", "population", "population_is_modelled", "boundary_is_approximate")


def page(title: str, body: str, root: str | None = None) -> str:
    """A whole document around ``body`` (already escaped HTML)."""
    nav = (f'<nav><a href="{escape(root)}?f=html">首页 Home</a> · '
           f'<a href="{escape(root)}/collections?f=html">数据集 Collections</a></nav>') if root else ""
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{nav}<h1>{escape(title)}</h1>{body}</body></html>")


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
            + f"<table><tr><th>名称 Title</th><th>id</th><th>要素数 Features</th><th>说明 Description</th></tr>"
              f"{rows}</table>")
    return page("数据集 Collections", body, root)


def collection(root: str, found: Collection) -> str:
    """One collection's description, extent, filters and links to its items."""
    url = f"{root}/collections/{found.id}"
    filters = "".join(f"<li><code>{escape(spec.name)}</code>：{escape(spec.description)}</li>"
                      for spec in found.filters)
    hours = "".join(f"<li><code>{escape(name)}</code>：{escape(text)}</li>" for name, text in HOURS_PROPERTIES.items())
    body = (notices(found.notices) + f"<p>{escape(found.description)}</p>"
            f"<p>要素数 Features: {found.count}<br>范围 Extent: {escape(_bbox(found))}</p>"
            f'<p><a href="{escape(url)}/items?f=html">浏览要素 Browse features</a> · '
            f'<a href="{escape(url)}/items">GeoJSON</a> · <a href="{escape(url)}?f=json">JSON</a></p>'
            + (f"<h2>筛选参数 Filters</h2><ul>{filters}</ul>" if filters else "")
            + (f"<h2>开放时间属性 Opening hours properties</h2><ul>{hours}</ul>" if found.kind == "stations" else ""))
    return page(found.title, body, root)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, dict | list):  # never a Python repr on a page: JSON, as a client reads it
        return escape(json.dumps(value, ensure_ascii=False))
    return "" if value is None else escape(str(value))


def _columns(found: Collection, features: Sequence[Mapping[str, Any]]) -> list[str]:
    if found.kind == "stations":
        return list(STATION_COLUMNS)
    if found.kind == "regions":
        return list(REGION_COLUMNS)
    keys = features[0]["properties"] if features else {}
    return ["name", "population"] + [key for key in keys if key.endswith("_covered_share")]


def items(found: Collection, features: Sequence[Mapping[str, Any]], matched: int, offset: int,
          links: Sequence[Mapping[str, str]], root: str) -> str:
    """One page of features as a table, with paging links."""
    columns = _columns(found, features)
    base = f"{root}/collections/{found.id}/items"
    header = "".join(f"<th>{escape(name)}</th>" for name in ["id", *columns])
    rows = "".join(
        f'<tr><td><a href="{escape(base)}/{escape(str(feature["id"]))}?f=html">{escape(str(feature["id"]))}</a></td>'
        + "".join(f"<td>{_cell(feature['properties'].get(name))}</td>" for name in columns) + "</tr>"
        for feature in features)
    paging = " · ".join(f'<a href="{escape(item["href"])}">{escape(item["title"])}</a>'
                        for item in links if item["rel"] in ("prev", "next"))
    shown = f"{offset + 1}–{offset + len(features)}" if features else "0"
    body = (notices(found.notices) + f"<p>第 {shown} 个，共 {matched} 个要素 / features {shown} of {matched}</p>"
            f"<table><tr>{header}</tr>{rows}</table><p>{paging}</p>")
    return page(found.title, body, root)


def feature(found: Collection, document: Mapping[str, Any], root: str) -> str:
    """One feature's properties and geometry type."""
    rows = "".join(f"<tr><th>{escape(str(name))}</th><td>{_cell(value)}</td></tr>"
                   for name, value in document["properties"].items())
    geometry = document.get("geometry") or {}
    body = (notices(found.notices)
            + f"<p>数据集 Collection: <a href=\"{escape(root)}/collections/{escape(found.id)}?f=html\">"
              f"{escape(found.title)}</a> · 几何 Geometry: {escape(str(geometry.get('type', '')))}</p>"
              f"<table>{rows}</table>")
    return page(f"{found.title} · {document['id']}", body, root)
