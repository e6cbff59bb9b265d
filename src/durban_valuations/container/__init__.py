"""Entry point of the container image: one image, a role per command."""
