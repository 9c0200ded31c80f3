"""``unionmap region check``: read a region folder whole and list every problem (no database).

Kept apart from ``geo.cli.region`` (the ``region`` command group) so that each command of the
group lives in a module of its own; :func:`register` adds it to the group.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from geo.cli.common import console, settings_for


def check(
    region: Annotated[str | None, typer.Option(
        help="地区文件夹 / region folder under data/ (default: the database's region, else UNIONMAP_REGION)")] = None,
) -> None:
    """检查地区文件夹 / check region.yaml and every file it names; list all problems (exit 2 if any)."""
    from geo.reference.region_check import check_region
    from geo.services.region_of_database import folder_in_use

    settings = settings_for(region)
    folder = folder_in_use(settings)
    result = check_region(folder, settings.data_dir)
    if result.config is not None:
        config = result.config
        console.print(f"{config.name_zh} / {config.name_en} ({config.code}), {config.timezone}: {folder}")
    if result.counts:
        table = Table("已读 read", "数量 count", title="读取正常 / read fine")
        for label, count in result.counts.items():
            table.add_row(label, str(count))
        console.print(table)
    if not result.problems:
        console.print("[green]✓ 未发现问题 / no problems found[/]")
        return
    console.print(f"[bold red]{len(result.problems)} 处问题 / problem(s):[/]")
    for number, problem in enumerate(result.problems, start=1):
        console.print(f"{number}. {problem}", soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``region`` command group."""
    app.command("check")(check)
