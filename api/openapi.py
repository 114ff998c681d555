"""OpenAPI 3.0 documentation from the pydantic models (served by sanic-ext at /docs/openapi.json).

``doc(...)`` documents one route: its query parameters (from a pydantic model, constraints
included), body, success model (wrapped in the success envelope) and the error envelope for
every other status. Pydantic's JSON Schema is turned into OpenAPI 3.0's dialect
(``nullable`` instead of ``{"type": "null"}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema
from sanic_ext import openapi
from sanic_ext.extensions.openapi.definitions import Component, Parameter, RequestBody, Response
from sanic_ext.extensions.openapi.types import Schema

T = TypeVar("T")


class OpenApi30Schema(GenerateJsonSchema):
    """JSON Schema as OpenAPI 3.0 reads it."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if "$ref" in inner:
            return {"allOf": [inner], "nullable": True}
        return {**inner, "nullable": True}

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        result = super().literal_schema(schema)
        if "const" in result:
            result["enum"] = [result.pop("const")]
        return result


class Model(BaseModel):
    """Base of every request and response model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = True,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = OpenApi30Schema,
        mode: JsonSchemaMode = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        return super().model_json_schema(
            by_alias=by_alias, ref_template=ref_template, schema_generator=OpenApi30Schema, mode=mode, **kwargs
        )


class ErrorBody(Model):
    code: str
    message: str
    details: dict[str, Any]


class ErrorEnvelope(Model):
    success: bool
    error: ErrorBody


_envelopes: dict[type[BaseModel], type[Model]] = {}


def envelope(model: type[BaseModel]) -> type[Model]:
    """``{"success": true, "data": <model>}`` as a named component."""
    if model not in _envelopes:
        made = create_model(f"{model.__name__}Envelope", __base__=Model, success=(bool, ...), data=(model, ...))
        openapi.component(made)
        _envelopes[model] = made
    return _envelopes[model]


def _component(model: type[BaseModel]) -> Any:
    openapi.component(model)
    return Component(model)


def query_parameters(model: type[BaseModel]) -> list[Parameter]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        kept = {k: v for k, v in prop.items() if k not in {"title", "default", "nullable"}}
        params.append(Parameter(name, Schema(**kept), "query", required=name in required))
    return params


def path_parameter(name: str, pattern: str, description: str) -> Parameter:
    return Parameter(name, Schema(type="string", pattern=pattern), "path", required=True, description=description)


def doc(
    summary: str,
    *,
    response: type[BaseModel] | None,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    params: Iterable[Parameter] = (),
    status: int = 200,
    auth: bool = False,
    content_type: str = "application/json",
) -> Callable[[T], T]:
    """Document a route; the error envelope covers every status but ``status``."""
    openapi.component(ErrorEnvelope)
    responses = [Response({"application/json": Component(ErrorEnvelope)}, status="default", description="an error")]
    if response is not None:
        content: Any = _component(envelope(response)) if content_type == "application/json" else response
        responses.insert(0, Response({content_type: content}, status=status, description="success"))
    parameters: list[Any] = [*(query_parameters(query) if query else []), *params]
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs["body"] = RequestBody({"application/json": _component(body)}, required=True)
    if auth:
        kwargs["secured"] = {"bearer": []}
    return openapi.definition(summary=summary, tag=tag, response=responses, parameter=parameters or None, **kwargs)
