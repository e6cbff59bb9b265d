"""Email alerts on failed, incomplete, suspect and blocked scrape runs, and on recovery.

`install_alerts(settings, engine)` registers the listener of a process; docs/alerts.md
describes the settings and the incident rules.
"""

from durban_valuations.alerts.notifier import AlertsHandle, install_alerts

__all__ = ["AlertsHandle", "install_alerts"]
