"""Agents' calendars: availability (pure), and one provider module each (local, Google, Outlook)."""
