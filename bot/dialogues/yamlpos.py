"""YAML loading that keeps line and column of every key and value.

Designers get `path:line:col: message` errors, so the loader must remember
where each piece of a dialogue file came from. PyYAML's composer gives nodes
with marks; we turn them into plain dicts and lists that carry positions.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.core.diagnostics import Pos


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

    def placed(self, pos: Pos, child_pos: Optional[Dict[Any, Pos]] = None) -> Any:
        """This container, put at `pos` (for values a default stands in for)."""
        self.pos, self.child_pos, self.key_pos = pos, dict(child_pos or {}), {}
        return self


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
        return _Converter(loader, path, problems).convert(node), problems
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


MAX_NODES = 200_000  # far beyond any dialogue; stops alias bombs ("billion laughs")


class _Converter:
    """Nodes to LMap/LList/scalars; refuses recursive aliases and runaway expansion."""

    def __init__(self, loader: Any, path: str, problems: List[Tuple[Pos, str]]) -> None:
        self.loader, self.path, self.problems = loader, path, problems
        self.open: set = set()
        self.count = 0

    def convert(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(_mark_pos(self.path, node.start_mark), "invalid YAML: too many nodes (alias expansion?)")
        if id(node) in self.open:
            raise YamlError(_mark_pos(self.path, node.start_mark), "invalid YAML: an alias refers to itself")
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self.loader.construct_object(node, deep=True)
        self.open.add(id(node))
        try:
            return self._mapping(node) if isinstance(node, yaml.MappingNode) else self._sequence(node)
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode) -> LMap:
        result = LMap()
        result.pos = _mark_pos(self.path, node.start_mark)
        result.child_pos, result.key_pos = {}, {}
        for key_node, value_node in node.value:
            key = self.convert(key_node)
            key_pos = _mark_pos(self.path, key_node.start_mark)
            if isinstance(key, (dict, list)):
                self.problems.append((key_pos, "a key must be a plain value"))
                continue
            if key in result:
                self.problems.append((key_pos, f"duplicate key '{key}'"))
            result[key] = self.convert(value_node)
            result.key_pos[key] = key_pos
            result.child_pos[key] = _mark_pos(self.path, value_node.start_mark)
        return result

    def _sequence(self, node: yaml.SequenceNode) -> LList:
        items = LList()
        items.pos = _mark_pos(self.path, node.start_mark)
        items.child_pos, items.key_pos = {}, {}
        for index, item in enumerate(node.value):
            items.append(self.convert(item))
            items.child_pos[index] = _mark_pos(self.path, item.start_mark)
        return items
