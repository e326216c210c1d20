"""Dynamic Chat for Rasa: dialogues, visitors and meetings as a Rasa plugin."""

__version__ = "0.1.0"
