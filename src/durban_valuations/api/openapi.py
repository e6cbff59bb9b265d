"""Write the API's OpenAPI document as YAML: `python -m durban_valuations.api.openapi [PATH]`."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from durban_valuations.api.app import create_app
from durban_valuations.config.settings import Settings

REGENERATE_COMMAND = "python -m durban_valuations.api.openapi"


def render_openapi() -> str:
    """Return the OpenAPI document of the app as YAML with sorted keys.

    The app is built with default settings and no database, so the output does not
    depend on the environment or on `.env`.
    """
    app = create_app(settings=Settings(_env_file=None))
    document = app.openapi()
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100)


def export_openapi(path: str | Path = "openapi.yaml") -> Path:
    """Write the OpenAPI document to `path` and return the path."""
    target = Path(path)
    target.write_text(render_openapi(), encoding="utf-8")
    return target


def main(argv: list[str]) -> None:
    target = export_openapi(argv[0] if argv else "openapi.yaml")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
