"""What every ``unionmap`` command shares: the console, the settings for a region, error exits."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from geo.settings import Settings, get_settings

console = Console()
CRS_CHOICES = ("wgs84", "gcj02", "bd09")


def settings_for(region: str | None = None) -> Settings:
    """The settings, pointed at another region folder when one is named."""
    settings = get_settings()
    return settings.model_copy(update={"region": region}) if region else settings


def fail(error: Exception) -> typer.Exit:
    """Print a one-line error (no traceback) and return the exit to raise (code 2)."""
    console.print(f"[bold red]错误 / error:[/] {error}", soft_wrap=True, markup=True)
    return typer.Exit(code=2)


def timed(label: str, started: float) -> None:
    """Print how long a command took since ``started`` (``time.perf_counter()``)."""
    console.print(f"[green]{label}[/] ({time.perf_counter() - started:.2f} s)")
