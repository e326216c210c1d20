"""Marketo Engage integration: REST client, field mapping, bulk CSV, lookups, emulator."""
