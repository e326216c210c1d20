"""Custom actions for Rasa: thin wrappers that call `bot`."""
