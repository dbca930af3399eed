"""The global options (`--json`, `--workspace DIR`) work before the command and after every
command and subcommand, and a value given before is never replaced by a default after."""

from __future__ import annotations

import argparse
import json
import stat

import pytest

from engine.cli import build_parser, main


def _leaves(parser: argparse.ArgumentParser, path=()):
    """(command words, parser) of every runnable command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Made-up values for a command's required arguments (enough to parse, not to run)."""
    argv: list[str] = []
    for action in parser._actions:
        if action.option_strings and not action.required:
            continue
        if action.dest in ("help", "command", "action") or action.nargs == 0:
            continue
        value = str(next(iter(action.choices))) if action.choices else (
            "1" if action.type in (int, float) else "x")
        count = action.nargs if isinstance(action.nargs, int) else (
            0 if action.nargs in ("?", "*") else 1)
        argv += ([action.option_strings[0]] if action.option_strings else []) + [value] * count
    return argv


COMMANDS = list(_leaves(build_parser()))


def test_every_command_is_found():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"predict", "keys generate", "gate", "trial status", "models list",
            "settings set", "doctor"} <= names
    assert len(names) > 25


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_global_options_before_and_after_every_command(path):
    parser = build_parser()
    leaf = dict(COMMANDS)[path]
    words = [*path, *_required(leaf)]
    plain = parser.parse_args(words)
    assert plain.json is False and plain.workspace is None and callable(plain.handler)
    before = parser.parse_args(["--json", "--workspace", "W", *words])
    after = parser.parse_args([*words, "--json", "--workspace", "W"])
    for args in (before, after):
        assert args.json is True and args.workspace == "W"
    # given before the command, not overwritten by the subcommand's defaults
    assert parser.parse_args(["--workspace", "A", *words, "--json"]).workspace == "A"
    if len(path) > 1:  # between the command and its subcommand too
        middle = parser.parse_args([path[0], "--json", *words[1:]])
        assert middle.json is True


def test_keys_generate_json_after_the_subcommand_and_a_new_folder(tmp_path, capsys):
    out = tmp_path / "not" / "yet"
    assert main(["keys", "generate", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    private = out / "publisher.key"
    assert printed["private_key"] == str(private) and (out / "publisher.pub").is_file()
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # a folder made for a secret key


def test_keys_generate_refuses_a_file_as_the_folder(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    assert main(["keys", "generate", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
