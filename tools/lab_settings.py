"""JupyterLab settings for this project's venv: no "get notified about Jupyter news?" popup.

Run with the venv's Python (``make lab`` does): it merges the settings below into
``<venv>/share/jupyter/lab/settings/overrides.json``, the defaults of every JupyterLab started
from this venv (a user's own settings still win). Keys are checked against JupyterLab's schema,
so a renamed setting fails here instead of being ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OVERRIDES = {
    # no news, no update check: nothing asks the reader a question or calls the internet
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def settings_dir(prefix: Path = Path(sys.prefix)) -> Path:
    return prefix / "share" / "jupyter" / "lab" / "settings"


def check_schema(prefix: Path = Path(sys.prefix)) -> None:
    schemas = prefix / "share" / "jupyter" / "lab" / "schemas"
    for plugin, values in OVERRIDES.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        unknown = set(values) - set(schema["properties"])
        if unknown:
            raise ValueError(f"{plugin}: expected settings from its schema, got {sorted(unknown)}")


def write(prefix: Path = Path(sys.prefix)) -> Path:
    check_schema(prefix)
    path = settings_dir(prefix) / "overrides.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    for plugin, values in OVERRIDES.items():
        current[plugin] = {**current.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


if __name__ == "__main__":
    print(f"JupyterLab settings for this venv: {write()}")
