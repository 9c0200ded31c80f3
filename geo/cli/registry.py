"""``unionmap keys`` and ``unionmap import`` / ``export``: the registry from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geo.cli.common import CRS_HELP, console, coord_system, fail
from geo.errors import InputErrors, UnionmapError
from geo.notices import export_notice
from geo.services import transaction
from geo.settings import get_settings

keys_app = typer.Typer(help="API 密钥 / API keys for writers", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="使用者 / who or what uses the key")],
    role: Annotated[str, typer.Option(help="reader | editor | admin")] = "editor",
) -> None:
    """新建密钥（只显示一次）/ create a key; it is shown once, only its hash is stored."""
    from geo.store.keys import create_key

    try:
        with transaction.session_scope(get_settings(), actor="unionmap keys") as session:
            key = create_key(session, name=name, role=role)
    except UnionmapError as error:
        raise fail(error) from error
    console.print(f"密钥 / key ({role}) for {name}:\n{key}\n[yellow]请立即保存：不会再次显示 / "
                  "store it now: it is not shown again[/]", soft_wrap=True)


@keys_app.command("list")
def keys_list() -> None:
    """列出密钥 / list keys (prefix, name, role, revoked)."""
    from geo.store.keys import list_keys

    with transaction.session_scope(get_settings()) as session:
        table = Table("prefix", "名称 name", "角色 role", "创建 created", "吊销 revoked")
        for key in list_keys(session):
            table.add_row(key.prefix, key.name, key.role, f"{key.created_at:%Y-%m-%d %H:%M}",
                          f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "—")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(prefix: Annotated[str, typer.Argument(help="密钥前缀 / the key's prefix")]) -> None:
    """吊销密钥 / revoke a key."""
    from geo.store.keys import revoke_key

    with transaction.session_scope(get_settings(), actor="unionmap keys") as session:
        done = revoke_key(session, prefix)
    if not done:
        raise fail(UnionmapError(f"no live key with prefix {prefix!r}"))
    console.print(f"已吊销 / revoked {prefix}")


def import_command(
    file: Annotated[Path, typer.Argument(help="CSV / GeoJSON / XLSX", exists=True, dir_okay=False)],
    crs: Annotated[str, typer.Option(help=f"文件坐标系 / coordinates in the file: {CRS_HELP}")] = "wgs84",
    file_format: Annotated[str | None, typer.Option("--format", help="csv | geojson | xlsx (default: suffix)")] = None,
) -> None:
    """批量导入站点（全部成功或全部不写入）/ import stations, all or nothing."""
    from geo.reference import service_types
    from geo.services import transfer, transfer_plan

    source_crs = coord_system(crs)
    settings = get_settings()
    try:
        amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
        with transaction.session_scope(settings, actor=f"unionmap import {file.name}") as session:
            ids = transfer_plan.import_stations(session, file.read_bytes(), file=file.name,
                                                file_format=transfer.format_of(file.name, file_format),
                                                source_crs=source_crs, amenities=amenities).added
    except InputErrors as error:
        console.print(f"[bold red]错误 / error:[/] {len(error.errors)} 行有误，未导入任何数据 / "
                      f"bad rows, nothing imported ({file.name}):", soft_wrap=True)
        for item in error.errors:
            console.print(f"  row {item.row}, field {item.field!r}: {item.reason}", soft_wrap=True, markup=False)
        raise typer.Exit(code=2) from error
    except UnionmapError as error:
        raise fail(error) from error
    console.print(f"已导入 / imported {len(ids)} stations from {file.name}")


def export_command(
    output: Annotated[Path, typer.Argument(help="输出文件 .csv / .geojson / .xlsx")],
    crs: Annotated[str, typer.Option(help=CRS_HELP)] = "wgs84",
) -> None:
    """导出站点（与导入同列）/ export every station in the columns import reads."""
    from geo.services import transfer
    from geo.store import catalogue

    target_crs = coord_system(crs)
    try:
        file_format = transfer.format_of(output.name)
        with transaction.session_scope(get_settings()) as session:
            frame = transfer.export_frame(session, catalogue.StationFilter(), target_crs)
    except UnionmapError as error:
        raise fail(error) from error
    output.write_bytes(transfer.export_bytes(frame, file_format, notice=export_notice(crs)))
    console.print(f"已导出 / exported {len(frame)} stations to {output}")


def register(app: typer.Typer) -> None:
    """Add ``keys``, ``import`` and ``export`` to ``app``."""
    app.add_typer(keys_app, name="keys")
    app.command("import")(import_command)
    app.command("export")(export_command)
