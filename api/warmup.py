"""Warm-up after start-up: the grid model and the default type's siting engine, before any request.

Runs in a background thread of each server process, so start-up is not slower and no request
pays for it: the process's grid model (about 1 s to read and index) and, in its solver process,
the default type's candidates and coverage matrix (about 3 s for Jiujiang's 爱心驿站). A plan that
arrives meanwhile waits for the warm-up to end (``SolverPool.warming``), within its own time
limit, instead of meeting a busy solver process or building a second copy.
A region with no grid yet, or a database that is away, only skips the warm-up (one log line).
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from geo.analysis import engine
from geo.errors import UnionmapError
from geo.reference import DEFAULT_TYPE
from geo.services.coverage_query import type_radii
from geo.store.scope import set_scope

log = logging.getLogger("unionmap.warmup")


def warm_siting(app: FastAPI) -> None:
    """Start the solver process, read the grid model, and build the default type's siting instance."""
    state = app.state
    with state.solver_pool.warming():
        started = time.monotonic()
        state.solver_pool.warm()
        try:
            with state.read_session_factory() as session:
                set_scope(session, [state.region.code])  # the default region's engine is warmed
                model, info = state.model_cache.get(session)
                kinds = type_radii(session, DEFAULT_TYPE)
            held = state.solver_pool.run(engine.warm, info.version, model, kinds, info.resolution,
                                         timeout_s=state.settings.plan_time_limit_s)
        except (UnionmapError, SQLAlchemyError) as error:
            log.info("siting engine not warmed: %s", error)
            return
        except Exception as error:  # noqa: BLE001 - a failed warm-up costs the first plan its build, no more
            log.warning("siting engine not warmed: %r", error)
            return
    sizes = ", ".join(f"{code}: {item['candidates']} candidates, {item['matrix_entries']:,} entries, "
                      f"{item['bytes'] / 2**20:.0f} MiB" for code, item in held["types"].items())
    log.info("siting engine warm in %.1f s (%s)", time.monotonic() - started, sizes)
