"""Checking API answers against the OpenAPI document the API ships."""
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

DOCUMENT = Path(__file__).resolve().parents[1] / "app" / "api" / "openapi.yaml"


@lru_cache(maxsize=1)
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


def _resolve(schema: dict) -> dict:
    """The schema with its #/components references made resolvable by jsonschema."""
    return {**schema, "components": document()["components"]}


def operation(path: str, method: str) -> dict:
    return document()["paths"][path][method.lower()]


def check(response, path: str, method: str = "get") -> None:
    """Fail unless the response's status is documented for the operation and its body fits the schema."""
    responses = operation(path, method)["responses"]
    spec = responses.get(str(response.status_code))
    assert spec is not None, f"{method.upper()} {path} answered {response.status_code}, which is not documented"
    if "$ref" in spec:
        spec = document()["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    schema = spec.get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        jsonschema.validate(response.get_json(), _resolve(schema), cls=jsonschema.Draft202012Validator)


def api_paths() -> set[str]:
    return set(document()["paths"])
