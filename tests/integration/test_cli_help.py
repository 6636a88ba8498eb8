"""Every command's help ends with an example, and every example parses with the command's real options."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import EXAMPLES, main


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=lambda p: " ".join(p) or "rbb")
def test_help_ends_with_an_example(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.rstrip().splitlines()]
    tail = lines[len(lines) - len(EXAMPLES[" ".join(path)]) :]
    assert lines[len(lines) - len(tail) - 1] == "Example:"
    assert tail == EXAMPLES[" ".join(path)]
    assert all(line.startswith("rbb ") for line in tail)


@pytest.mark.parametrize("key", sorted(EXAMPLES), ids=lambda k: k or "rbb")
def test_every_example_uses_existing_options(key):
    for line in EXAMPLES[key]:
        for part in line.split("&&"):
            args = shlex.split(part)[1:]
            cmd: click.Command = main
            ctx = None
            while isinstance(cmd, click.Group) and args and args[0] in cmd.commands:
                cmd, args = cmd.commands[args[0]], args[1:]
            ctx = cmd.make_context("rbb", list(args), resilient_parsing=False)
            assert ctx is not None
