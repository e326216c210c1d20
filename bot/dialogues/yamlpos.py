"""YAML loading that keeps line and column of every key and value.

Designers get `path:line:col: message` errors, so the loader must remember
where each piece of a dialogue file came from. PyYAML's composer gives nodes
with marks; we turn them into plain dicts and lists that carry positions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

import yaml


@dataclass(frozen=True)
class Pos:
    """A place in a file, 1-based line and column."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class Located:
    """Mixin for containers that remember their own and their children's places."""

    pos: Pos
    child_pos: Dict[Any, Pos]
    key_pos: Dict[Any, Pos]

    def pos_of(self, key: Any) -> Pos:
        """Where the value at `key` starts (the container itself if unknown)."""
        return self.child_pos.get(key, self.pos)

    def pos_of_key(self, key: Any) -> Pos:
        return self.key_pos.get(key, self.pos_of(key))


class LMap(dict, Located):
    """A mapping from YAML with positions."""


class LList(list, Located):
    """A sequence from YAML with positions."""


class YamlError(Exception):
    """The file is not valid YAML; carries where."""

    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(f"{pos}: {message}")
        self.pos = pos
        self.message = message


# libyaml's parser keeps the same marks and is several times faster.
FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mark_pos(path: str, mark: Any) -> Pos:
    return Pos(path, mark.line + 1, mark.column + 1)


def load_located(text: str, path: str) -> Tuple[Any, List[Tuple[Pos, str]]]:
    """Parse one YAML document into LMap/LList/scalars.

    Returns the data and a list of (pos, message) problems the parser found but
    could recover from (duplicate keys). Raises YamlError on a syntax error.
    """
    loader = FastSafeLoader(text)
    problems: List[Tuple[Pos, str]] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, problems
        return _convert(node, loader, path, problems), problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = _mark_pos(path, mark) if mark else Pos(path, 1, 1)
        message = exc.problem or str(exc)
        if exc.context:
            message = f"{exc.context}, {message}"
        raise YamlError(pos, f"invalid YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise YamlError(Pos(path, 1, 1), f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: Any, path: str, problems: list) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = LMap()
        result.pos = _mark_pos(path, node.start_mark)
        result.child_pos, result.key_pos = {}, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, loader, path, problems)
            if isinstance(key, (dict, list)):
                problems.append((_mark_pos(path, key_node.start_mark), "a key must be a plain value"))
                continue
            if key in result:
                problems.append(
                    (_mark_pos(path, key_node.start_mark), f"duplicate key '{key}'")
                )
            result[key] = _convert(value_node, loader, path, problems)
            result.key_pos[key] = _mark_pos(path, key_node.start_mark)
            result.child_pos[key] = _mark_pos(path, value_node.start_mark)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LList()
        items.pos = _mark_pos(path, node.start_mark)
        items.child_pos, items.key_pos = {}, {}
        for index, item in enumerate(node.value):
            items.append(_convert(item, loader, path, problems))
            items.child_pos[index] = _mark_pos(path, item.start_mark)
        return items
    return loader.construct_object(node, deep=True)
