"""Who gets the meeting: agents, account and rule routing, strict round robin."""
