"""The README stays true: every setting is in its configuration table, every command in its list."""

from __future__ import annotations

import re
from pathlib import Path

from cluster.cli import COMMANDS
from cluster.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_given_the_settings_then_every_variable_has_a_row_in_the_readme_table() -> None:
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    variables = {name.upper() for name in Settings.model_fields}
    assert variables - rows == set(), "add these to the README's configuration table"
    assert rows - variables == set(), "the README documents settings that do not exist"


def test_given_the_cli_then_every_command_is_in_the_readme() -> None:
    missing = [name for name in COMMANDS if f"`{name}" not in README and f" `{name}`" not in README]
    assert missing == []
