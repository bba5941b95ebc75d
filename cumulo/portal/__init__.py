"""The portal front end: web UI and REST API on the portal port."""
