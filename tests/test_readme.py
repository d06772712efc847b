"""The README's examples run as written."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

README = (ROOT / "README.md").read_text()


def test_python_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_console_examples_run(tmp_path):
    blocks = re.findall(r"```console\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        expected: list[str] = []
        command = None
        for line in [*block.splitlines(), "$ "]:
            if line.startswith("$ "):
                if command:
                    _check(command, expected, tmp_path)
                command, expected = line[2:], []
            else:
                expected.append(line)


def _check(command: str, expected: list[str], cwd) -> None:
    if command.startswith("ananke "):
        command = f"{shlex.quote(sys.executable)} -m ananke {command[len('ananke ') :]}"
    result = subprocess.run(
        command, shell=True, executable="/bin/bash", cwd=cwd, capture_output=True, text=True, timeout=120
    )
    output = result.stdout.strip().splitlines()
    for want, got in zip(expected, output, strict=False):
        pattern = re.escape(want).replace(re.escape("..."), ".*")
        assert re.fullmatch(pattern, got), (command, want, got)
    assert len(output) >= len(expected), (command, output)
