"""OpenAPI components are keyed by model class name: two response models with one name would make
the served spec describe one route with the other's schema (it happened: two ``WithdrawalsPage``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from pydantic import BaseModel

import api


def test_every_api_model_name_is_unique() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for module_info in pkgutil.walk_packages(api.__path__, "api."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                owners[name].add(module.__name__)
    clashes = {name: sorted(modules) for name, modules in owners.items() if len(modules) > 1}
    assert not clashes, clashes
