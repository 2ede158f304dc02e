"""Kiosk synchronisation: the offline app shell, the heartbeats of kiosks and
their status for staff."""
