"""``unionmap plan --method exact`` as a planner runs it: a live progress line, and Ctrl-C keeps the best plan.

A real process and a real SIGINT: typer's test runner would neither deliver the signal nor run
the command on a thread that may install a handler for it.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from geo.settings import Settings

pytestmark = pytest.mark.db

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
UNIONMAP = str(Path(sys.executable).parent / "unionmap")
PROGRESS = re.compile(r"精确求解 / exact +([\d.]+) s +最好 incumbent ([\d,]+) +上界 bound ([\d,]+) +差距 gap ([\d.]+)%")
OBJECTIVE = re.compile(r"目标值 objective ([\d,]+)；已证明上界 proven upper bound ([\d,]+) \(已停止 stopped")


def people(text: str) -> int:
    return int(text.replace(",", ""))


def test_ctrl_c_stops_an_exact_plan_and_prints_the_best_plan_found(test_settings: Settings) -> None:
    env = os.environ | {"DATABASE_URL": test_settings.database_url or "", "UNIONMAP_DATA_DIR": str(DATA_DIR),
                        "COLUMNS": "200", "UNIONMAP_EXACT_STOP_GRACE_S": "1"}
    # Jiujiang's full 爱心驿站 instance: HiGHS's presolve alone outlasts this test. No bound steps,
    # or the Lagrangian bound would prove the answer optimal and HiGHS would not run at all.
    process = subprocess.Popen([UNIONMAP, "plan", "--type", "love_station", "--add", "5", "--method", "exact",
                                "--time-limit", "120", "--bound-steps", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
    seen: list[str] = []
    try:
        while not any(PROGRESS.search(line) for line in seen):  # the solver has an incumbent and a bound
            seen.append(lines.get(timeout=60))
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        process.kill()
    stopped_in_s = time.monotonic() - interrupted
    time.sleep(0.2)  # the reader thread takes the last lines
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    print(output)
    assert process.returncode == 0, output
    assert stopped_in_s < 10  # the stop grace (1 s here) and printing, not the solver's limit of 120 s
    assert "已停止（Ctrl-C）" in output and "stopped (Ctrl-C)" in output
    assert re.findall(r"│ (\d) +│", output) == ["1", "2", "3", "4", "5"]  # the plan's five sites, printed
    last_shown = [PROGRESS.search(line) for line in seen if PROGRESS.search(line)][-1]
    objective = OBJECTIVE.search(output)
    assert objective is not None, output
    assert people(objective.group(1)) == people(last_shown.group(2)) > 0  # the incumbent the line showed
    assert people(objective.group(2)) >= people(objective.group(1))
