"""The warm siting engine: what a planning process keeps between plans.

Building a plan's instance is most of its cost: on Jiujiang's 爱心驿站 the 30 447 default
candidates take 0.4 s and their coverage matrix (8.8 million entries) 2.5 s, the greedy solve
0.3 s. Neither depends on the registry: the candidates and the matrix follow from the grid and
the type's radii alone, and a registry edit changes only which cells are already covered (the
weights). So each process that plans (the server's solver processes) keeps the grid model of
one grid version and, per set of radii, the candidates with their matrix; a plan after an edit
reuses them and pays only for the weights and the solve.

The model (24 MB pickled) is sent to a solver process once per grid version, not with every
plan: :func:`propose_warm` names the grid version only and raises :class:`EngineCold` when the
process does not hold it; the caller then sends it once with :func:`propose_cold`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from geo.analysis import instance_files, planning, whatif
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.errors import UnionmapError
from geo.settings import Settings, get_settings

# The user's own sites, WGS-84: lon, lat and names (parallel arrays).
GivenSites = tuple[np.ndarray, np.ndarray, np.ndarray]
# Instances kept per process (one per set of radii, so one per service type in practice).
MAX_INSTANCES = 5
# Questions whose bound multipliers an instance keeps.
MAX_QUESTIONS = 8


class BoundMemo(OrderedDict[tuple[object, ...], np.ndarray]):
    """Multipliers per question, the least recently used dropped past ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: tuple[object, ...], value: np.ndarray) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class EngineCold(UnionmapError):
    """This process holds no model of the grid version asked for (send it with ``propose_cold``)."""


@dataclass(frozen=True)
class SitingInstance:
    """The default candidates of a type on one grid and their coverage matrix (cells × candidates)."""

    candidates: planning.Candidates
    matrix: planning.CoverageMatrix
    candidate_resolution: int
    # Per question (weights, k, deficits): the multipliers its bound search stopped at, so asking
    # again goes on from there (a few questions, 1.7 MB each on Jiujiang; see planning.plan_sites).
    bound_memo: BoundMemo = field(default_factory=lambda: BoundMemo(MAX_QUESTIONS), compare=False)

    @functools.cached_property
    def positions(self) -> whatif.Positions:
        """Each candidate's column by its WGS-84 position (for a what-if; made on first use, ~10 ms)."""
        return whatif.positions_of(self.candidates.lon, self.candidates.lat)

    @property
    def nbytes(self) -> int:
        """Memory held by the matrix (both layouts) and the candidates' arrays, in bytes (the
        bound memo, at most MAX_QUESTIONS × 8 bytes per cell, not counted)."""
        arrays = [getattr(self.candidates, name) for name in planning.Candidates.__dataclass_fields__]
        return self.matrix.nbytes + int(sum(array.nbytes for array in arrays))

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the instance holds, as plain arrays (see :func:`from_arrays`)."""
        columns, rows = self.matrix.columns, self.matrix.rows
        candidates = {f"candidates_{name}": np.asarray(getattr(self.candidates, name)).astype(
            None if name in ("lon", "lat") else str) for name in planning.Candidates.__dataclass_fields__}
        return candidates | {
            "columns_data": columns.data, "columns_indices": columns.indices, "columns_indptr": columns.indptr,
            "rows_data": rows.data, "rows_indices": rows.indices, "rows_indptr": rows.indptr,
            "shape_and_resolution": np.array([*columns.shape, self.candidate_resolution], dtype=np.int64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SitingInstance:
        """The instance :meth:`arrays` gave (the arrays used as they are, mapped files included)."""
        n, m, resolution = (int(value) for value in arrays["shape_and_resolution"])
        candidates = planning.Candidates(*(arrays[f"candidates_{name}"]
                                           for name in planning.Candidates.__dataclass_fields__))
        columns = sp.csc_matrix((arrays["columns_data"], arrays["columns_indices"], arrays["columns_indptr"]),
                                shape=(n, m), copy=False)
        rows = sp.csr_matrix((arrays["rows_data"], arrays["rows_indices"], arrays["rows_indptr"]),
                             shape=(n, m), copy=False)
        columns.has_canonical_format = rows.has_canonical_format = True  # as they were stored
        return cls(candidates, planning.CoverageMatrix(columns, rows), resolution)


ARRAY_NAMES = (*(f"candidates_{name}" for name in planning.Candidates.__dataclass_fields__),
               "columns_data", "columns_indices", "columns_indptr", "rows_data", "rows_indices", "rows_indptr",
               "shape_and_resolution")


def files_directory(settings: Settings | None = None) -> Path | None:
    """Where instances are kept on disk for every process of this checkout (None: memory only)."""
    settings = settings or get_settings()
    if not settings.siting_files:
        return None
    return settings.siting_files_dir or settings.state_dir / "cache" / "siting"


class SitingEngine:
    """One process's grid model (of one grid version) and its siting instances, built once.

    Thread-safe: a request that asks while an instance is being built waits for it instead of
    building a second copy.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grid_key: str | None = None
        self._model: CoverageModel | None = None
        self._instances: OrderedDict[tuple[float, float, int], SitingInstance] = OrderedDict()

    def hold(self, grid_key: str, model: CoverageModel) -> None:
        """Keep ``model`` as the grid of version ``grid_key`` (a new version drops every instance)."""
        with self._lock:
            if self._grid_key != grid_key:
                self._grid_key, self._model = grid_key, model
                self._instances.clear()

    def model(self, grid_key: str) -> CoverageModel:
        """The model of grid version ``grid_key``; EngineCold if this process holds another or none."""
        with self._lock:
            if self._grid_key != grid_key or self._model is None:
                raise EngineCold(f"no siting model of grid {grid_key} in this process")
            return self._model

    def instance(self, model: CoverageModel, kind: TypeRadius, grid_resolution: int) -> SitingInstance:
        """The default candidates of ``kind`` on ``model`` and their matrix, built on first use."""
        key = (kind.radius_urban_m, kind.radius_rural_m, grid_resolution)
        with self._lock:  # held while building: a second caller waits rather than builds again
            found = self._instances.get(key)
            if found is None:
                found = self._load_or_build(model, kind, grid_resolution)
                self._instances[key] = found
                while len(self._instances) > MAX_INSTANCES:
                    self._instances.popitem(last=False)
            self._instances.move_to_end(key)
            return found

    def _load_or_build(self, model: CoverageModel, kind: TypeRadius, grid_resolution: int) -> SitingInstance:
        """The instance from this machine's files if a process stored it, else built and stored."""
        directory = files_directory()
        name = instance_files.key_of(self._grid_key, kind.radius_urban_m, kind.radius_rural_m, grid_resolution,
                                     planning.MAX_MATRIX_ENTRIES)
        if directory is not None and self._grid_key is not None:
            stored = instance_files.load(directory, name, ARRAY_NAMES)
            if stored is not None:
                return SitingInstance.from_arrays(stored)
        candidates, resolution = planning.default_candidates(model, kind, grid_resolution)
        built = SitingInstance(candidates, planning.coverage_matrix(model, candidates, kind), resolution)
        if directory is not None and self._grid_key is not None:
            instance_files.save(directory, name, built.arrays())
        return built

    def held(self, kind: TypeRadius, grid_resolution: int) -> SitingInstance | None:
        """The instance of ``kind`` if this process holds it (never built here: None otherwise)."""
        with self._lock:
            return self._instances.get((kind.radius_urban_m, kind.radius_rural_m, grid_resolution))

    def held_bytes(self) -> int:
        """Memory of the instances held (the model not counted), in bytes."""
        with self._lock:
            return sum(instance.nbytes for instance in self._instances.values())


# The engine of this process. In a solver process it lives as long as the process.
ENGINE = SitingEngine()


def warm(grid_key: str, model: CoverageModel, kinds: Sequence[TypeRadius], grid_resolution: int) -> dict[str, Any]:
    """Build the instances of ``kinds`` now (at start-up, before any plan asks); what they hold."""
    ENGINE.hold(grid_key, model)
    built = {kind.code: ENGINE.instance(model, kind, grid_resolution) for kind in kinds}
    return {"grid": grid_key, "types": {code: {"candidates": len(instance.candidates.lon),
                                               "matrix_entries": int(instance.matrix.columns.nnz),
                                               "bytes": instance.nbytes} for code, instance in built.items()}}


def propose_warm(grid_key: str, stations: StationPoints, kind: TypeRadius, grid_resolution: int, *,
                 add: int, min_per_county: int = 0, method: str = "greedy",
                 time_limit_s: float = 60.0, bound_steps: int = planning.BOUND_STEPS,
                 bound_limit_s: float = planning.INTERACTIVE_BOUND_LIMIT_S,
                 candidates: GivenSites | None = None) -> planning.PlanResult:
    """A plan on the default candidates with the model this process holds (EngineCold if none).

    ``candidates``: the user's own sites instead (WGS-84 lon, lat, names). Their coverage matrix
    is built for this plan (one ball query per site on the model held here: milliseconds for a
    few hundred sites) and not kept; neither are their bound multipliers.
    """
    started = time.monotonic()
    model = ENGINE.model(grid_key)
    if candidates is not None:
        given = planning.given_candidates(model, *candidates)
        return planning.plan_sites(model, stations, kind, given, add=add, min_per_county=min_per_county,
                                   method=method, time_limit_s=time_limit_s, bound_steps=bound_steps,
                                   bound_limit_s=bound_limit_s)
    instance = ENGINE.instance(model, kind, grid_resolution)
    # ``time_limit_s`` bounds the whole call: a build done here (a type not held yet) counts.
    left_s = max(1.0, time_limit_s - (time.monotonic() - started))
    return planning.plan_sites(model, stations, kind, instance.candidates, matrix=instance.matrix, add=add,
                               min_per_county=min_per_county, method=method, time_limit_s=left_s,
                               bound_steps=bound_steps, bound_limit_s=bound_limit_s, bound_memo=instance.bound_memo)


def propose_cold(grid_key: str, model: CoverageModel, stations: StationPoints, kind: TypeRadius,
                 grid_resolution: int, **options: Any) -> planning.PlanResult:
    """:func:`propose_warm` after handing this process the model of grid ``grid_key``."""
    ENGINE.hold(grid_key, model)
    return propose_warm(grid_key, stations, kind, grid_resolution, **options)


def evaluate_warm(grid_key: str, stations: StationPoints, kind: TypeRadius, grid_resolution: int,
                  lon: np.ndarray, lat: np.ndarray, *, time_limit_s: float | None = None) -> whatif.WhatIf:
    """What each site adds, in order (``whatif.evaluate_sites``), on the model this process holds
    (EngineCold if none). A site on a grid candidate of an instance held here takes its column of
    the matrix; any other is reached through the model's KD-tree (no instance is built for a
    what-if). ``time_limit_s`` is the caller's (the solver pool stops the call from outside)."""
    model = ENGINE.model(grid_key)
    held = ENGINE.held(kind, grid_resolution)
    known = (held.positions, held.matrix.columns) if held is not None else None
    return whatif.evaluate_sites(model, stations, kind, lon, lat, known=known)


def evaluate_cold(grid_key: str, model: CoverageModel, stations: StationPoints, kind: TypeRadius,
                  grid_resolution: int, lon: np.ndarray, lat: np.ndarray, **options: Any) -> whatif.WhatIf:
    """:func:`evaluate_warm` after handing this process the model of grid ``grid_key``."""
    ENGINE.hold(grid_key, model)
    return evaluate_warm(grid_key, stations, kind, grid_resolution, lon, lat, **options)
