"""The OpenStack Swift API front end (OpenStack Object Storage API v1).

`SwiftApp` (app.py) routes `/info` and `/v1/AUTH_<project_id>/...` to one handler per
operation (router.py) and maps domain errors to Swift's statuses and bodies in one
place (errors.py).
"""
