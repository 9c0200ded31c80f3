"""The registry's write path: validation, create, update and (soft) delete of stations.

Every write checks its input fully before it touches a row, names the field (and row, for
files) of every problem, and runs in the caller's transaction, so a bad write changes
nothing. Updates and deletes carry the version the writer read; a stale version is refused
(optimistic locking), so two planners can never silently overwrite each other. The database
triggers assign county and township and record the history of every change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from geo.core import crs, hours
from geo.core.crs import CoordSystem
from geo.errors import InputError, InputErrors, NotFound, VersionConflict
from geo.reference.service_types import Amenity
from geo.services import registry_messages as say
from geo.store import regions, service_types, stations

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LIST_SEPARATORS = re.compile(r"[;,；，、]")


class StationInput(BaseModel):
    """The properties a writer sends for one station (coordinates come separately)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type_code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)
    status: Literal["open", "closed", "planned"] = "open"
    opening_hours: hours.OpeningHours | None = None  # text is parsed by _hours, before validation
    amenities: list[str] = Field(default_factory=list, max_length=30)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+\-() ]*$")
    managing_union: str | None = Field(default=None, max_length=200)
    is_demo: bool = False
    source: str = Field(default="", max_length=500)

    @field_validator("type_code", "name", "address", "phone", "managing_union", "source")
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        """PostgreSQL text cannot hold NUL, and XML (an .xlsx export, a GML client) none of the
        other C0 controls but tab, line feed and carriage return: a name with one stored fine
        and then made every workbook export fail."""
        match = _CONTROL.search(value) if value is not None else None
        if match:
            code = f"U+{ord(match.group()):04X}"
            raise ValueError(f"含控制字符 {code}（位置 {match.start()}）/ contains the control character {code} "
                             f"at position {match.start()}")
        return value

    @field_validator("opening_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        if isinstance(value, str):
            return hours.parse_simple(value) if value.strip() else None
        return value

    @field_validator("amenities", mode="before")
    @classmethod
    def _amenity_list(cls, value: Any) -> Any:
        if isinstance(value, str):  # CSV cells: "water;rest", "water,rest" or "饮水、充电"
            return [part.strip() for part in _LIST_SEPARATORS.split(value) if part.strip()]
        return value


@dataclass(frozen=True)
class StationWrite:
    """A checked station, WGS-84, ready to store."""

    values: dict[str, Any]
    lon: float
    lat: float
    station_id: int | None = None


@dataclass(frozen=True)
class Vocabulary:
    """What a station may say: the known types and amenities, and their Chinese names, which a
    writer may use instead of the codes (a planner types 爱心驿站 or 饮水 in a spreadsheet)."""

    types: frozenset[str]
    amenities: frozenset[str]
    type_names: Mapping[str, str] = field(default_factory=dict)  # code -> name_zh, display order
    amenity_names: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, amenities: Mapping[str, Amenity] | Iterable[str]) -> Vocabulary:
        """The stored types; ``amenities`` as read from ``amenities.yaml`` (a bare set of codes: no names)."""
        type_names = {kind.code: kind.name_zh for kind in service_types.service_types(session)}
        amenity_names = ({code: amenity.name_zh for code, amenity in amenities.items()}
                         if isinstance(amenities, Mapping) else {})
        return cls(types=frozenset(type_names), amenities=frozenset(amenities), type_names=type_names,
                   amenity_names=amenity_names)

    def type_code(self, value: str) -> str:
        """The code a type is written as: itself, or the code whose Chinese name it is."""
        return value if value in self.types else _code_named(value, self.type_names)

    def amenity_code(self, value: str) -> str:
        """The code an amenity is written as: itself, or the code whose Chinese name it is."""
        return value if value in self.amenities else _code_named(value, self.amenity_names)

    def known_types(self) -> dict[str, str]:
        """Every type code with its Chinese name ("" when not known), in display order."""
        return _with_names(self.types, self.type_names)

    def known_amenities(self) -> dict[str, str]:
        """Every amenity code with its Chinese name ("" when not known)."""
        return _with_names(self.amenities, self.amenity_names)


def _with_names(codes: frozenset[str], names: Mapping[str, str]) -> dict[str, str]:
    return {code: names.get(code, "") for code in [*names, *sorted(codes - set(names))] if code in codes}


def _code_named(value: str, names: Mapping[str, str]) -> str:
    return next((code for code, name in names.items() if name == value), value)


def _pydantic_errors(error: ValidationError, row: int | None, file: str | None) -> list[InputError]:
    return [InputError(say.pydantic_message(item), file=file, row=row,
                       field=".".join(map(str, item["loc"])) or None) for item in error.errors()]


def check_properties(properties: dict[str, Any], vocabulary: Vocabulary, *, row: int | None = None,
                     file: str | None = None) -> tuple[dict[str, Any] | None, list[InputError]]:
    """Validate one station's properties; return storable values or the errors found.

    A type or amenity given by its Chinese name is stored as its code."""
    try:
        parsed = StationInput.model_validate(properties)
    except ValidationError as error:
        return None, _pydantic_errors(error, row, file)
    except ValueError as error:  # parse_simple raising inside a validator
        return None, [InputError(str(error), file=file, row=row, field="opening_hours")]
    errors = []
    type_code = vocabulary.type_code(parsed.type_code)
    if type_code not in vocabulary.types:
        errors.append(InputError(say.unknown_type(parsed.type_code, vocabulary.known_types()),
                                 file=file, row=row, field="type_code"))
    amenities = list(dict.fromkeys(vocabulary.amenity_code(a) for a in parsed.amenities))
    unknown = [given for given in parsed.amenities if vocabulary.amenity_code(given) not in vocabulary.amenities]
    if unknown:
        errors.append(InputError(say.unknown_amenities(unknown, vocabulary.known_amenities()),
                                 file=file, row=row, field="amenities"))
    values = parsed.model_dump() | {"type_code": type_code, "amenities": amenities}
    values["opening_hours"] = hours.to_json(parsed.opening_hours) if parsed.opening_hours else {}
    return (None if errors else values), errors


def check_coordinates(lon: Any, lat: Any, *, row: int | None = None, file: str | None = None,
                      field_prefix: str = "") -> list[InputError]:
    """Finite numbers in range; field names ``lon``/``lat`` (with a prefix, e.g. ``geometry.``).

    A latitude past ±90 that reads as a longitude, beside a longitude that reads as a latitude,
    gets the hint that the two were swapped."""
    errors = []
    numbers: dict[str, float] = {}
    for name, value in (("lon", lon), ("lat", lat)):
        try:
            numbers[name] = float(value)
        except (TypeError, ValueError):
            errors.append(InputError(say.not_a_number(name, value), file=file, row=row, field=field_prefix + name))
    for name, limit in (("lon", 180), ("lat", 90)):
        number = numbers.get(name)
        if number is not None and (not np.isfinite(number) or abs(number) > limit):
            swapped = name == "lat" and "lon" in numbers and say.looks_swapped(numbers["lon"], number)
            errors.append(InputError(say.out_of_range(name, lon if name == "lon" else lat, swapped=swapped),
                                     file=file, row=row, field=field_prefix + name))
    return errors


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, source: CoordSystem) -> tuple[np.ndarray, np.ndarray]:
    """Writers may send GCJ-02 or BD-09; only WGS-84 is stored."""
    return crs.convert(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), source=source, target="wgs84")


def outside_region(session: Session, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Indices of the points that no county polygon covers."""
    return regions.points_outside(session, lon, lat)


def insert(session: Session, writes: list[StationWrite]) -> list[int]:
    """Insert checked stations (explicit ids kept, e.g. from an export) and return their ids."""
    return stations.insert_stations(session, [write.values | {"lon": write.lon, "lat": write.lat,
                                                              "id": write.station_id} for write in writes])


def current(session: Session, station_id: int) -> dict[str, Any]:
    """The stored station (not deleted) as a dict with lon/lat; NotFound otherwise."""
    row = stations.live_station(session, station_id)
    if row is None:
        raise NotFound(f"station {station_id} does not exist")
    return row


def update(session: Session, station_id: int, write: StationWrite, *, expected_version: int) -> int:
    """Replace a station's properties and position if it is still at ``expected_version``.

    Returns the new version. Raises NotFound, or VersionConflict when someone changed it first.
    """
    version = stations.update_station(session, station_id, write.values, write.lon, write.lat,
                                      expected_version=expected_version)
    return version if version is not None else _raise_missing_or_stale(session, station_id, expected_version)


def delete(session: Session, station_id: int, *, expected_version: int) -> int:
    """Soft-delete a station at ``expected_version``: it disappears from every read, its row and
    history stay (``deleted_at`` is set, so the history trigger records the change)."""
    version = stations.soft_delete(session, station_id, expected_version=expected_version)
    return version if version is not None else _raise_missing_or_stale(session, station_id, expected_version)


def _raise_missing_or_stale(session: Session, station_id: int, expected: int) -> NoReturn:
    version = stations.live_version(session, station_id)
    if version is None:
        raise NotFound(f"station {station_id} does not exist")
    raise VersionConflict(station_id, expected, version)


def raise_if_errors(errors: list[InputError], *, file: str | None = None) -> None:
    """One error as itself, several as InputErrors."""
    if len(errors) == 1 and file is None:
        raise errors[0]
    if errors:
        raise InputErrors(errors, file=file)
