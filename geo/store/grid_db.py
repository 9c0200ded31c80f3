"""The demand grid in the database: written with COPY, read back as arrays."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, exists, select, text
from sqlalchemy.orm import Session

from geo.reference.grid import Grid
from geo.store.db import driver_connection
from geo.store.models import DemandCell, DemandGrid
from geo.store.scope import city_of, scope_of

COLUMNS = ("cell", "township_code", "county_code", "population", "is_urban", "lon", "lat")
# Statements written out whole (no names spliced in): see geo.store.sql.
DROP_INDEXES = ("DROP INDEX IF EXISTS ix_demand_cell_geom, ix_demand_cell_geog, ix_demand_cell_cell, "
                "ix_demand_cell_township_code, ix_demand_cell_county_code")
CREATE_INDEXES = (
    "CREATE INDEX ix_demand_cell_geom ON demand_cell USING gist (geom)",
    "CREATE INDEX ix_demand_cell_geog ON demand_cell USING gist ((geom::geography))",
    "CREATE INDEX ix_demand_cell_cell ON demand_cell (cell)",
    "CREATE INDEX ix_demand_cell_township_code ON demand_cell (township_code)",
    "CREATE INDEX ix_demand_cell_county_code ON demand_cell (county_code)",
)
COPY_IN = ("COPY demand_cell (region_code, cell, township_code, county_code, population, is_urban, lon, lat) "
           "FROM STDIN WITH (FORMAT csv)")
COPY_OUT = ("COPY (SELECT cell, township_code, county_code, population, is_urban, lon, lat FROM demand_cell "
            "WHERE region_code = %s ORDER BY id) TO STDOUT WITH (FORMAT csv)")


@dataclass(frozen=True)
class GridInfo:
    """What the stored grid is."""

    resolution: int
    population_is_modelled: bool
    source: str
    cell_count: int
    total_population: float
    version: str  # changes whenever the grid is rebuilt or repopulated


def replace_grid(session: Session, grid: Grid, *, resolution: int, modelled: bool, source: str) -> None:
    """Replace the grid of the session's city: its cells go, the new ones come in by COPY.

    When no other city has cells, the table is emptied and its indexes built afterwards in one
    pass: building a GiST index once over 200 000 points is several times faster than growing it
    row by row. With other cities' cells there, their indexes stay and grow. All of it stays
    inside the caller's transaction.
    """
    region = city_of(session)
    alone = not session.scalar(select(exists().where(DemandCell.region_code != region)))
    session.execute(delete(DemandGrid).where(DemandGrid.region_code == region))
    if alone:
        session.execute(text("TRUNCATE demand_cell RESTART IDENTITY"))
        session.execute(text(DROP_INDEXES))
    else:
        session.execute(delete(DemandCell).where(DemandCell.region_code == region))
    buffer = io.StringIO()
    frame = grid.frame()[list(COLUMNS)]
    frame.insert(0, "region_code", region)
    # 1e-7 degrees is about 1 cm: more digits only slow the COPY down.
    frame = frame.assign(lon=frame["lon"].round(7), lat=frame["lat"].round(7))
    frame.to_csv(buffer, index=False, header=False)
    raw = driver_connection(session)
    with raw.cursor() as cursor, cursor.copy(COPY_IN) as copy:
        copy.write(buffer.getvalue())
    if alone:
        for statement in CREATE_INDEXES:
            session.execute(text(statement))
    session.execute(text("ANALYZE demand_cell"))
    session.add(DemandGrid(region_code=region, resolution=resolution, population_is_modelled=modelled, source=source,
                           cell_count=len(grid), total_population=float(grid.population.sum())))
    session.flush()


def grid_info(session: Session) -> GridInfo | None:
    """Metadata of the stored grid of the session's city, or None before one is built (or before
    any region is loaded)."""
    if not scope_of(session):
        return None
    row = session.scalar(select(DemandGrid).where(DemandGrid.region_code == city_of(session)))
    if row is None:
        return None
    return GridInfo(row.resolution, row.population_is_modelled, row.source, row.cell_count,
                    row.total_population,
                    f"{row.region_code}/{row.built_at.isoformat()}/{row.cell_count}/{row.total_population}")


def read_grid(session: Session) -> Grid:
    """All cells of the session's city's grid, in id order (COPY to CSV: twice as fast as row fetching)."""
    buffer = io.BytesIO()
    region = city_of(session)
    raw = driver_connection(session)
    with raw.cursor() as cursor, cursor.copy(COPY_OUT, (region,)) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:
        frame = pd.DataFrame({name: [] for name in COLUMNS})
    else:
        frame = pd.read_csv(buffer, names=list(COLUMNS), dtype={"township_code": str, "county_code": str},
                            true_values=["t"], false_values=["f"])
    return Grid(
        cell=frame["cell"].to_numpy(dtype=np.int64),
        township_code=frame["township_code"].to_numpy(dtype=object),
        county_code=frame["county_code"].to_numpy(dtype=object),
        population=frame["population"].to_numpy(dtype=float),
        is_urban=frame["is_urban"].to_numpy(dtype=bool),
        lon=frame["lon"].to_numpy(dtype=float),
        lat=frame["lat"].to_numpy(dtype=float),
    )


def set_population(session: Session, cells: np.ndarray, population: np.ndarray, *, source: str) -> float:
    """Replace the city's cell populations by measured ones (cells not listed get 0); clear the modelled flag.

    A cell row split between townships (see ``geo.grid``) keeps the share it had.
    """
    region = city_of(session)
    session.execute(text("CREATE TEMP TABLE measured (cell bigint PRIMARY KEY, population float8) ON COMMIT DROP"))
    buffer = io.StringIO()
    pd.DataFrame({"cell": cells.astype(np.int64), "population": population}).to_csv(buffer, index=False, header=False)
    raw = driver_connection(session)
    with raw.cursor() as cursor, cursor.copy("COPY measured (cell, population) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())
    session.execute(text("""
        WITH shares AS (
            SELECT id, cell, CASE WHEN sum(population) OVER (PARTITION BY cell) > 0
                             THEN population / sum(population) OVER (PARTITION BY cell)
                             ELSE 1.0 / count(*) OVER (PARTITION BY cell) END AS share
            FROM demand_cell WHERE region_code = :region)
        UPDATE demand_cell d SET population = coalesce(m.population, 0) * s.share
        FROM shares s LEFT JOIN measured m ON m.cell = s.cell
        WHERE d.id = s.id"""), {"region": region})
    total = float(session.scalar(text("SELECT coalesce(sum(population), 0) FROM demand_cell WHERE region_code = :region"),
                                 {"region": region}))
    session.execute(text("""UPDATE demand_grid SET population_is_modelled = false, source = :source,
                            total_population = :total, built_at = now() WHERE region_code = :region"""),
                    {"source": source, "total": total, "region": region})
    session.execute(text("DROP TABLE measured"))
    return total
