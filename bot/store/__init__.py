"""The local visitor store: leads synced or imported from Marketo, found by id, email or cookie."""
