"""The bench scripts still run: each with --quick exits 0 and prints its figures (none are judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# Each script and a heading its output must contain.
SCRIPTS = {
    "interaction_latency.py": "Interaction acknowledgement latency",
    "reminder_fanout.py": "Reminder fan-out under",
    "timers.py": "Timer lateness at fire time",
    "audio_cpu.py": "CPU per second of audio",
    "memory.py": "Resident memory of the bot process",
    "growth.py": "Growth: fanout",
}
# Generous: the scripts run side by side on two cores, often beside other test suites.
TIMEOUT = 240


@pytest.fixture(scope="module")
def outputs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every script at once (they mostly wait on sockets and timers), each in its own process."""
    running = {
        name: subprocess.Popen(
            [sys.executable, str(BENCH / name), "--quick"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=BENCH.parent,
        )
        for name in SCRIPTS
    }
    finished: dict[str, subprocess.CompletedProcess[str]] = {}
    for name, process in running.items():
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        finished[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return finished


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_bench_script_runs_and_prints_its_figures(
    name: str, outputs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = outputs[name]
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert SCRIPTS[name] in result.stdout
    assert "Machine" in result.stdout and "CPU" in result.stdout
