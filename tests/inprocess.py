"""The ``rbb`` command line run inside the test process.

Click's test runner calls the same command object as ``python -m pipeline.cli`` (arguments, exit code, what is
printed on stdout and stderr) without starting a new interpreter that imports pandas, DuckDB and Great
Expectations again (2-3 s a command, and Great Expectations' first validation in a process costs several
seconds more). Use a real subprocess where the process itself is the point: a second process contending for
the workspace lock, resource limits, signals.
"""

from __future__ import annotations

import subprocess
import traceback

from click.testing import CliRunner


def rbb(*args: str) -> subprocess.CompletedProcess:
    """``rbb ARGS`` as a finished process: returncode, stdout and stderr as text.

    An exception that escapes the command is what the interpreter would print: its traceback is appended to
    stderr (and the exit code is 1), so a check like ``"Traceback" not in stderr`` means the same as it does
    for a subprocess."""
    from pipeline.cli import main

    result = CliRunner().invoke(main, list(args), prog_name="rbb")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["rbb", *args], result.exit_code, result.stdout, stderr)
