"""Train and query Rasa policies in-process on a compiled project (no model, no server)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple, Type

import yaml
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.generator import TrackerWithCachedStates, TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from bot.dialogues.build import compile_project
from tests.support import ROOT
from tests.support.dialogue_generator import write_dialogues

SHIPPED = ROOT / "data" / "dialogues"


def policy_config(name_ends: str) -> Dict[str, Any]:
    """A policy's settings from the project's config.yml (without its name)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    settings = next(p for p in config["policies"] if p["name"].endswith(name_ends))
    return {key: value for key, value in settings.items() if key != "name"}


def compile_with_generated(scratch: Path, generated: int) -> Path:
    """Shipped dialogues plus `generated` varied ones, compiled into scratch/build."""
    sources = [str(SHIPPED)]
    if generated:
        write_dialogues(scratch / "generated", generated)
        sources.append(str(scratch / "generated"))
    compiled, problems = compile_project(ROOT, sources)
    assert not problems, problems[:3]
    build = scratch / "build"
    compiled.write(build)
    return build


def load_training(build: Path) -> Tuple[Domain, List[TrackerWithCachedStates]]:
    """The domain and the training trackers Rasa's training would make (no augmentation:
    rule policies ignore augmented trackers)."""
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(build / "domain.yml"), training_data_paths=[str(build / "data")])
    domain = importer.get_domain()
    trackers = TrainingDataGenerator(importer.get_stories(), domain, augmentation_factor=0).generate()
    return domain, trackers


def train(policy_class: Type[Policy], domain: Domain, trackers: List[TrackerWithCachedStates],
          storage: Path, **overrides: Any) -> Any:
    """A policy trained in-process with its settings in config.yml, as Rasa's graph would train it."""
    storage.mkdir(parents=True, exist_ok=True)
    configured = "MemoizationPolicy" if issubclass(policy_class, MemoizationPolicy) else "RulePolicy"
    config = {**policy_class.get_default_config(), **policy_config(configured), **overrides}
    policy = policy_class.create(config, LocalModelStorage(storage), Resource(policy_class.__name__),
                                 ExecutionContext(GraphSchema({}), "test"))
    logging.getLogger("rasa").setLevel(logging.WARNING)
    policy.train(trackers, domain)
    return policy


def prediction_points(tracker: DialogueStateTracker) -> Iterator[DialogueStateTracker]:
    """The tracker as it stood before each action it ran (what a prediction sees), one object growing
    event by event as the processor's tracker does within a turn."""
    running = DialogueStateTracker(tracker.sender_id, tracker.slots.values())  # as served: a plain tracker
    for event in tracker.applied_events():
        if isinstance(event, ActionExecuted):
            yield running
        running.update(event)


def describe(prediction: Any) -> Tuple:
    """Everything a policy prediction tells the ensemble, comparable with ==."""
    return (tuple(prediction.probabilities), prediction.policy_name.replace("Indexed", "").replace("Remembering", ""),
            prediction.policy_priority, tuple(str(e) for e in prediction.events),
            tuple(str(e) for e in prediction.optional_events), prediction.is_end_to_end_prediction,
            prediction.is_no_user_prediction, prediction.hide_rule_turn, prediction.action_metadata)


def predicted_action(prediction: Any, domain: Domain) -> str:
    probabilities = prediction.probabilities
    return domain.action_names_or_texts[max(range(len(probabilities)), key=probabilities.__getitem__)]


def same_predictions(policies: Sequence[Policy], domain: Domain, tracker: DialogueStateTracker,
                     **kwargs: Any) -> Tuple:
    """Each policy's prediction on this tracker; fails on the first difference."""
    described = [describe(policy.predict_action_probabilities(tracker, domain, **kwargs)) for policy in policies]
    assert all(item == described[0] for item in described[1:]), (
        f"predictions differ at {[e for e in tracker.events][-6:]}:\n" + "\n".join(map(str, described)))
    return described[0]
