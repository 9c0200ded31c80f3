"""Other cities for tests: an empty data/ folder the CLI writes into, and invented township lists.

Used by the tests of ``unionmap region init`` and by the test that walks a city made by it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from geo.reference import china

DATA = Path(__file__).resolve().parents[1] / "data"


def empty_data_dir(folder: Path) -> Path:
    """``folder`` as a data/ folder with the project's service types and amenities and no region."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "service_types.yaml", folder / "service_types.yaml")
    shutil.copy(DATA / "amenities.yaml", folder / "amenities.yaml")
    return folder


def made_up_townships(adcode: str, path: Path, per_county: int = 3) -> pd.DataFrame:
    """``per_county`` invented townships in each county of ``adcode`` (codes county + 3 digits)."""
    codes = china.counties_of(adcode)["code"]
    rows = [(f"{county}{100 + i:03d}", county, f"第{i + 1}试验镇") for county in codes for i in range(per_county)]
    frame = pd.DataFrame(rows, columns=["code", "county_code", "name"])
    frame.to_csv(path, index=False)
    return frame


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """The process environment with ``values`` set and ``UNIONMAP_REGION`` unset for the block
    (module-scoped fixtures cannot use monkeypatch), then as it was; the settings cache cleared
    on the way in and out."""
    from geo.settings import get_settings

    saved = {key: os.environ.get(key) for key in (*values, "UNIONMAP_REGION")}
    os.environ.update(values)
    os.environ.pop("UNIONMAP_REGION", None)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
