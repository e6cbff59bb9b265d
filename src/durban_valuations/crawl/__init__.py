"""Crawl planning and the crawl loop: which searches cover a roll, and running them."""
