"""Meetings: records with statuses and history, booked through the router without double booking."""
