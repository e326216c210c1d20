"""Protocol-faithful emulators of the vendors' APIs (Marketo, Google Calendar, Microsoft Graph), for tests and demos.

Each runs as its own server on loopback (`python -m bot.emulators.marketo`,
`.google`, `.graph`) and answers the real clients over HTTP. They share one
control plane (`control.ControlPlane`): `/_emulator/faults` queues faults,
`/_emulator/stats` counts calls, `/_emulator/health` answers when ready.
No production module imports this package (the import contract says so);
`dynchat run` starts the Marketo emulator as a process when MARKETO=emulator.
"""
