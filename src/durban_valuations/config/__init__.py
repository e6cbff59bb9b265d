"""Settings from the environment and `.env`."""

from durban_valuations.config.settings import LIVE_SITE_URL, Settings, get_settings

__all__ = ["LIVE_SITE_URL", "Settings", "get_settings"]
