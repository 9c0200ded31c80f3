"""``unionmap jobs run``: the job runner that solves exact plans queued through the API."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from geo.settings import get_settings

jobs_app = typer.Typer(help="后台任务 / background jobs (exact plans queued through the API)", no_args_is_help=True)


@jobs_app.command("run")
def jobs_run(
    exit_with_parent: Annotated[bool, typer.Option(
        "--exit-with-parent", hidden=True, help="end when the process that started it ends (unionmap serve)")] = False,
) -> None:
    """运行任务执行器 / run the job runner until stopped (Ctrl-C, SIGTERM).

    `unionmap serve` starts one itself; run this beside a server started any other way. A second
    runner on the same database waits as a standby and takes over if the first one ends.
    """
    import os

    from geo.services.job_runner import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(get_settings(), parent_pid=os.getppid() if exit_with_parent else None)
