"""The pure core: the types every layer shares, importing nothing but the standard library.

Dialogues, agents and routing rules, meetings and their statuses, visitors,
diagnostics and the slot and intent names live here; decisions over them
live one layer up (`bot.dialogues`, `bot.routing`).
"""
