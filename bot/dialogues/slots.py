"""The compiled domain's slot types: Rasa's own, lighter to featurize and to fingerprint.

`RouteSlot`, the routing slot's type: a categorical slot featurized as one number, not one-hot.

Rasa featurizes a categorical slot as a one-hot vector over all its values, and
`dc_goto` has a value per card of every dialogue: at 200 dialogues every state
of every conversation carried a tuple of some 1,600 floats, built three times
per state in a Python loop, compared and JSON-encoded in every rule key. The
rule and memoization policies only ever compare features for equality, so the
position of the value (1-based; 0 when unset) carries exactly the same
information: two values featurize alike if and only if their one-hot vectors
are alike (Rasa's lower-casing and its `__other__` fallback included).

Fingerprints: training fingerprints every training tracker (one per rule and
story, several times) to find what its cache can reuse, and a tracker's
fingerprint includes every slot's, which Rasa builds by hashing each value and
mapping of the slot's definition separately: with a hundred dialogues that was
most of a training run. Here a slot's fingerprint is one hash of its type,
name, value and definition, as text: as unique, and computed in one pass.
Trackers copy every slot each time they are built (several times per
prediction); the slots copy themselves without the pickle protocol's detour.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Tuple

import rasa.shared.utils.io
from rasa.shared.core import slots as rasa_slots
from rasa.shared.core.constants import DEFAULT_CATEGORICAL_SLOT_VALUE


@functools.lru_cache(maxsize=8)
def _positions(values: Tuple[str, ...]) -> Dict[str, int]:
    """Value -> 1-based position, shared by the copies of the slot that every tracker makes."""
    positions: Dict[str, int] = {}
    for index, known in enumerate(values, start=1):
        positions.setdefault(known, index)  # the first wins, as in Rasa's one-hot loop
    return positions


class _CompiledSlot:
    """One hash for a fingerprint, and a plain copy: every tracker copies every slot, often."""

    def fingerprint(self) -> str:
        return rasa.shared.utils.io.get_text_hash(
            repr((type(self).__name__, self.name, self.value, self.persistence_info())))  # type: ignore[attr-defined]

    def __copy__(self) -> Any:
        """What `copy.copy` makes through the pickle protocol, without the protocol's cost."""
        duplicate = object.__new__(type(self))
        duplicate.__dict__.update(self.__dict__)
        return duplicate


class AnySlot(_CompiledSlot, rasa_slots.AnySlot):
    """Rasa's `any` slot."""


class TextSlot(_CompiledSlot, rasa_slots.TextSlot):
    """Rasa's `text` slot."""


class ListSlot(_CompiledSlot, rasa_slots.ListSlot):
    """Rasa's `list` slot."""


class BooleanSlot(_CompiledSlot, rasa_slots.BooleanSlot):
    """Rasa's `bool` slot."""


class FloatSlot(_CompiledSlot, rasa_slots.FloatSlot):
    """Rasa's `float` slot."""


class CategoricalSlot(_CompiledSlot, rasa_slots.CategoricalSlot):
    """Rasa's `categorical` slot."""


class RouteSlot(_CompiledSlot, rasa_slots.CategoricalSlot):
    """`dc_goto`: categorical values, featurized as their 1-based position."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._positions = _positions(tuple(self.values))  # copies of this slot share it

    def add_default_value(self) -> None:
        super().add_default_value()
        self._positions = _positions(tuple(self.values))

    def _position_of(self, value: Any) -> int:
        position = self._positions.get(str(value).lower())
        if position is None:
            position = self._positions.get(DEFAULT_CATEGORICAL_SLOT_VALUE, 0)
        return position

    def _as_feature(self) -> List[float]:
        if self.value is None:
            return [0.0]
        return [float(self._position_of(self.value))]

    def _feature_dimensionality(self) -> int:
        return 1

