"""Staff-edited YAML files read into pydantic models, with `file:line: where: problem` errors.

pydantic says *what* is wrong (`topics.suicide.helplines.1: unknown helpline`); the YAML node tree
says *where*, so staff get the line to fix rather than a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class CatalogError(Exception):
    """A content file is broken; str() is one line naming the file and line."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed data and its node tree (for line numbers)."""
    try:
        source = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(path, None, "file not found") from None
    except UnicodeDecodeError as error:
        raise CatalogError(path, None, f"not UTF-8 text ({error.reason})") from None
    return parse_yaml(path, source)


def parse_yaml(path: Path, source: str, *, first_line: int = 1) -> tuple[Any, yaml.Node | None]:
    """YAML text from `path` (starting at `first_line` there, e.g. a profile's front matter)."""
    try:
        return yaml.safe_load(source), yaml.compose(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "invalid YAML"
        line = mark.line + first_line if mark else None
        raise CatalogError(path, line, f"malformed YAML: {problem}") from None


def validate(
    path: Path, data: Any, tree: yaml.Node | None, model: type[Model], *, first_line: int = 1
) -> Model:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        where = ".".join(str(part) for part in location) or "(top level)"
        line = line_of(tree, location)
        line = line + first_line - 1 if line is not None else None
        raise CatalogError(path, line, f"{where}: {first['msg']}") from None


def load_yaml_model(path: Path, model: type[Model]) -> Model:
    data, tree = read_yaml(path)
    return validate(path, data, tree, model)


def line_of(tree: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node on `location` that exists in the file."""
    node, line = tree, (tree.start_mark.line + 1 if tree is not None else None)
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
