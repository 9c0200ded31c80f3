"""What every ``unionmap`` command shares: the console, the settings for a region, error exits."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from geo.core.crs import COORD_SYSTEMS, CoordSystem
from geo.errors import UnionmapError
from geo.settings import Settings, get_settings

console = Console()
CRS_HELP = " | ".join(COORD_SYSTEMS)  # an option's help: wgs84 | gcj02 | bd09


def settings_for(region: str | None = None) -> Settings:
    """The settings, pointed at another region folder when one is named."""
    settings = get_settings()
    return settings.model_copy(update={"region": region}) if region else settings


def fail(error: Exception) -> typer.Exit:
    """Print a one-line error (no traceback) and return the exit to raise (code 2)."""
    console.print(f"[bold red]错误 / error:[/] {error}", soft_wrap=True, markup=True)
    return typer.Exit(code=2)


def coord_system(value: str, option: str = "--crs") -> CoordSystem:
    """``value`` as a coordinate system; else the one-line error naming ``option`` (exit code 2)."""
    if value not in COORD_SYSTEMS:
        choices = f"{', '.join(COORD_SYSTEMS[:-1])} or {COORD_SYSTEMS[-1]}"
        raise fail(UnionmapError(f"{option} must be {choices}, not {value!r}"))
    return value


def timed(label: str, started: float) -> None:
    """Print how long a command took since ``started`` (``time.perf_counter()``)."""
    console.print(f"[green]{label}[/] ({time.perf_counter() - started:.2f} s)")
