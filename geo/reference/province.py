"""A province is a region of regions: ``province.yaml`` names its code, names, time zone and the
folder of each prefecture that belongs to it.

``unionmap region init-province`` writes it (with a folder per prefecture the data folder does not
already hold) under ``<state_dir>/regions/<code>/province.yaml``; a deployment of the province reads
it to know which region folders to load (each found by ``geo.reference.region.region_folder``).
Strict like ``region.yaml``: an unknown key is an error, not silently dropped.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from geo.errors import InputError
from geo.reference.region import Strict, known_zone, read_yaml
from geo.settings import GENERATED_REGIONS, Settings

PROVINCE_FILE = "province.yaml"


class ProvinceMember(Strict):
    """One prefecture of the province: its code, Chinese name and region folder name."""

    code: str = Field(pattern=r"^\d{6}$")
    name_zh: str
    folder: str
    generated: bool = Field(description="written by region init-province (under .state/regions), not committed")


class ProvinceConfig(Strict):
    """Contents of ``province.yaml``."""

    code: str = Field(pattern=r"^\d{6}$")
    name_zh: str
    name_en: str
    timezone: str = "Asia/Shanghai"
    members: list[ProvinceMember] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _members_of_this_province(self) -> ProvinceConfig:
        """Every member code lies under the province's (36xxxx for 360000), and none repeats."""
        foreign = [member.code for member in self.members if member.code[:2] != self.code[:2]]
        codes = [member.code for member in self.members]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if foreign or repeated:
            raise PydanticCustomError(
                "province_members", "成员代码不属于本省或重复 / member codes not of province {code} or repeated: {bad}",
                {"code": self.code, "bad": ", ".join(foreign + repeated)})
        return self


def province_folder(settings: Settings, code: str) -> Path:
    """Where ``region init-province`` writes a province's descriptor: ``<state_dir>/regions/<code>``."""
    return settings.state_dir / GENERATED_REGIONS / code


def read_province(path: Path) -> ProvinceConfig:
    """Parse and check a ``province.yaml``; the error names the file and the key."""
    try:
        return ProvinceConfig.model_validate(read_yaml(path))
    except ValidationError as error:
        first = error.errors()[0]
        raise InputError(str(first["msg"]), file=str(path), field=".".join(map(str, first["loc"])) or None) from error


def province_yaml(config: ProvinceConfig) -> str:
    """The text of ``province.yaml`` for ``config`` (a header that says who wrote it, then the keys)."""
    header = (f"# Written by `unionmap region init-province {config.code}`: the prefectures of {config.name_zh} and "
              "their region folders\n# (found in data/ first, then in .state/regions/).\n")
    return header + yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False)
