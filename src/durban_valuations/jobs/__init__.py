"""Jobs that start scrapes: the shared entry point, and later schedulers and workers."""
