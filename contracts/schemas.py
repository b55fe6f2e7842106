"""JSON Schemas of the wire models, committed under ``contracts/schemas/`` for the Node.js side.

Regenerate with ``python -m contracts.schemas``; a test fails when the committed files drift
from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.models import AgentReply, AgentRequest

__all__ = ["SCHEMA_DIR", "render_schemas", "write_schemas"]

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render_schemas() -> dict[str, str]:
    """File name → schema text, exactly as committed."""
    schemas: dict[str, dict[str, Any]] = {
        "agent_request.schema.json": AgentRequest.model_json_schema(by_alias=True, mode="validation"),
        "agent_reply.schema.json": AgentReply.model_json_schema(by_alias=True, mode="serialization"),
    }
    out = {}
    for name, schema in schemas.items():
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_schemas():
        print(f"wrote {written}")
