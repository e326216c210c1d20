"""Rasa's file importer, reading the compiled domain, rules and stories with libyaml.

Rasa reads training YAML twice per file, once round-trip for its schema check
(pykwalify) and once to use it, both with the pure-Python ruamel parser: for
200 dialogues (a 600 kB domain, 4,000 rules) that was over a minute of every
training, before any policy ran, and it grows with the dialogues. The compiled
files are checked when they are made (`dynchat compile` validates the dialogues
and `tests/test_compiler.py` runs Rasa's own `rasa data validate`, schema
included, on the output), so here they are parsed once with PyYAML's C loader
(the library the compiler writes them with) and handed to Rasa's own domain and
story readers. NLU files are read by Rasa as usual.

Registered in `config.yml` under `importers:`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Text

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph, StoryStep
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.utils.common import cached_method

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(path: Text) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader) or {}


class CompiledProjectImporter(RasaFileImporter):
    """`RasaFileImporter` with one fast parse of each domain, rule and story file."""

    @cached_method
    def get_domain(self) -> Domain:
        if not self._domain_path or not Path(self._domain_path).is_file():
            return super().get_domain()  # none, or a folder of domain files: Rasa's way
        return Domain.from_dict(_parse(self._domain_path))

    @cached_method
    def get_stories(self, exclusion_percentage: Optional[int] = None) -> StoryGraph:
        if exclusion_percentage:
            return super().get_stories(exclusion_percentage)
        domain = self.get_domain()
        steps: List[StoryStep] = []
        for path in self._story_files:
            steps.extend(YAMLStoryReader(domain, path).read_from_parsed_yaml(_parse(path)))
        return StoryGraph(steps)
