"""The service-type registry and amenity vocabulary as read from their data files (the store writes them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from geo.errors import InputError
from geo.reference.region import cached_by_version, read_yaml


class ServiceTypeSpec(BaseModel):
    """One entry of ``service_types.yaml``."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    description: str = ""
    radius_urban_m: float = Field(gt=0, le=100_000)
    radius_rural_m: float = Field(gt=0, le=100_000)
    radius_source: str = ""
    color: str = "#3388ff"


class Amenity(BaseModel):
    """One amenity a station can offer."""

    name_zh: str
    name_en: str


@cached_by_version
def read_service_types(path: Path) -> list[ServiceTypeSpec]:
    """Parse and check ``service_types.yaml``; errors name the entry and field."""
    entries = read_yaml(path)
    if not isinstance(entries, list):
        raise InputError("expected a list of service types", file=str(path))
    specs = []
    for number, entry in enumerate(entries, start=1):
        try:
            specs.append(ServiceTypeSpec.model_validate(entry))
        except ValidationError as error:
            first = error.errors()[0]
            raise InputError(first["msg"], file=str(path), row=number,
                             field=".".join(map(str, first["loc"]))) from error
    codes = [spec.code for spec in specs]
    for number, code in enumerate(codes, start=1):
        if codes.index(code) != number - 1:
            raise InputError(f"duplicate code {code}", file=str(path), row=number, field="code")
    return specs


@cached_by_version
def read_amenities(path: Path) -> dict[str, Amenity]:
    """Parse ``amenities.yaml``: code → names."""
    entries = read_yaml(path)
    try:
        return {code: Amenity.model_validate(value) for code, value in entries.items()}
    except (ValidationError, AttributeError) as error:
        raise InputError(f"not a mapping of code to names: {error}", file=str(path)) from error
