"""Load ``config/<env>.yaml`` into :class:`EnvironmentConfig`, or fail with one readable message."""

from __future__ import annotations

import difflib
import re
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.schema import DeliveryConfig, EnvironmentConfig

ModelT = TypeVar("ModelT", bound=BaseModel)

CONFIG_DIR = Path(__file__).resolve().parent


class ConfigError(Exception):
    """A configuration mistake, worded for the person who made it."""


DELIVERY = "delivery"
"""config/delivery.yaml describes the pipeline, not an environment."""


def available_environments(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(path.stem for path in config_dir.glob("*.yaml") if path.stem != DELIVERY)


def load_environment(name: str, config_dir: Path = CONFIG_DIR) -> EnvironmentConfig:
    known = available_environments(config_dir)
    if name not in known:
        raise ConfigError(
            f"unknown environment {name!r}; allowed: {', '.join(known)} (one file per environment in {_display(config_dir)}/)"
        )
    config = _load_one(name, config_dir)
    others = [_load_one(other, config_dir) for other in known if other != name]
    _check_against_others(config, others, config_dir)
    return config


def _load_one(name: str, config_dir: Path) -> EnvironmentConfig:
    path = config_dir / f"{name}.yaml"
    raw = _read_mapping(path)
    if "name" in raw:
        raise ConfigError(f"{_display(path)}: name = {raw['name']!r}: not allowed; the environment's name is the file's name ({name!r})")
    return _validated(EnvironmentConfig, path, {"name": name, **raw})


def _check_against_others(config: EnvironmentConfig, others: list[EnvironmentConfig], config_dir: Path) -> None:
    """Rules across files: names that must not collide, and registries that must share."""
    path = _display(config_dir / f"{config.name}.yaml")
    clash = next((other for other in others if other.prefix == config.prefix), None)
    if clash:
        raise ConfigError(
            f"{path}: prefix = {config.prefix!r}: allowed: a prefix no other environment uses; {clash.name}.yaml has it too "
            "(their buckets, endpoint and registry would be the same resources)"
        )
    model = config.inference.model if config.inference else None
    if model is None or model.model_package_arn is None:
        return
    arn = model.model_package_arn
    account, group = arn.split(":")[4], arn.split(":")[5].split("/")[1]
    if (account, group) == (config.account, config.registry_name):
        return
    owner = next((other for other in others if (other.account, other.registry_name) == (account, group)), None)
    if owner is None:
        registries = ", ".join(f"{other.registry_name} in {other.account} ({other.name})" for other in [config, *others])
        raise ConfigError(
            f"{path}: inference.model.model_package_arn = {arn!r}: allowed: a package of an environment's registry in "
            f"{_display(config_dir)}/ ({registries}); the stacks read its artifact from that environment's buckets"
        )
    if owner.account != config.account and config.account not in owner.registry.shared_with_accounts:
        raise ConfigError(
            f"{path}: inference.model.model_package_arn = {arn!r}: allowed only when {owner.name}.yaml shares its registry with "
            f"{config.account}: add {config.account!r} to its registry.shared_with_accounts and deploy {owner.name} first"
        )


def load_delivery(config_dir: Path = CONFIG_DIR) -> DeliveryConfig:
    path = config_dir / f"{DELIVERY}.yaml"
    if not path.is_file():
        raise ConfigError(f"{_display(path)}: missing; the delivery pipeline needs it (account, region, connection_arn, ...)")
    delivery = _validated(DeliveryConfig, path, _read_mapping(path))
    known = available_environments(config_dir)
    unknown = [name for name in delivery.stages if name not in known]
    if unknown:
        raise ConfigError(f"{_display(path)}: stages = {unknown}: allowed: environments in {_display(config_dir)}/ ({', '.join(known)})")
    return delivery


def _validated(model: type[ModelT], path: Path, raw: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(path, model, error)) from None


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML keeps the last of two equal keys without a word; a repeated key is a mistake here.

    libyaml's parser when PyYAML has it (its wheels do): the pure-Python one is most of the
    time of loading a config, which every synth and many tests do.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} appears twice in one mapping (first at line {seen[key].line + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{_display(path)}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{_display(path)}: expected a mapping of fields (account, region, ...), got {type(raw).__name__}")
    return raw


def _describe(path: Path, model: type[BaseModel], error: ValidationError) -> str:
    return "\n".join(_describe_one(path, model, detail) for detail in error.errors())


def _describe_one(path: Path, model: type[BaseModel], detail: Any) -> str:
    loc = list(detail["loc"])
    field = ".".join(str(part) for part in loc) or "(top level)"
    kind = detail["type"]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return f"{_display(path)}: {field} is required but missing{_described(model, loc)}"
    value = detail.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"{_display(path)}: {field} is not a known field{hint}; allowed here: {', '.join(allowed)}"
    if kind.startswith("literal_error"):
        message = message.replace("Input should be", "allowed:")
    elif message.startswith("Input should be"):
        message = "allowed: " + message.removeprefix("Input should be ")
    if not loc or isinstance(value, dict):
        # A rule across several fields: its message names them.
        names_a_field = re.match(r"[a-z_]+(\.[a-z_0-9]+)*( = |: )", message)
        return f"{_display(path)}: {message}" if names_a_field or not loc else f"{_display(path)}: {field}: {message}"
    return f"{_display(path)}: {field} = {value!r}: {message}"


def _model_at(model: type[BaseModel], loc: list[Any]) -> type[BaseModel] | None:
    """The section a location points into, through optional sections and lists of sections."""
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list: the list's item model is already ``model``
        field = model.model_fields.get(str(part))
        found = _section_model(field.annotation) if field else None
        if found is None:
            return None
        model = found
    return model


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    # ``Section | None`` and ``list[Section]``
    for argument in typing.get_args(annotation):
        found = _section_model(argument)
        if found is not None:
            return found
    return None


def _allowed_fields(model: type[BaseModel], loc: list[Any]) -> list[str]:
    found = _model_at(model, loc)
    return [name for name in found.model_fields if not (found is EnvironmentConfig and name == "name")] if found else []


def _described(model: type[BaseModel], loc: list[Any]) -> str:
    found = _model_at(model, loc[:-1])
    field = found.model_fields.get(str(loc[-1])) if found else None
    return f" ({field.description})" if field and field.description else ""


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
