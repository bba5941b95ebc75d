"""`GET /info`: the cluster's capabilities (OpenStack Object Storage API v1, "Discoverability").

Clients act on it: python-swiftclient segments uploads with SLO and deletes with bulk
delete only when they are listed. So it lists exactly the features this front end
implements, with their real limits; nothing else (no tempurl, formpost, versioning).
"""

from __future__ import annotations

import json
from typing import Any

from cumulo.config import Settings
from cumulo.swift import bulk, common, large


def capabilities(settings: Settings) -> dict[str, Any]:
    return {
        "swift": {
            "version": "2.34.0",
            "max_file_size": settings.max_object_size,
            "max_meta_name_length": common.MAX_META_NAME_LENGTH,
            "max_meta_value_length": common.MAX_META_VALUE_LENGTH,
            "max_meta_count": common.MAX_META_COUNT,
            "max_meta_overall_size": common.MAX_META_OVERALL_SIZE,
            "max_header_size": common.MAX_HEADER_SIZE,
            "max_object_name_length": common.MAX_OBJECT_NAME_LENGTH,
            "max_container_name_length": common.MAX_CONTAINER_NAME_LENGTH,
            "max_account_name_length": common.MAX_ACCOUNT_NAME_LENGTH,
            "container_listing_limit": common.LISTING_LIMIT,
            "account_listing_limit": common.LISTING_LIMIT,
            "extra_header_count": 0,
            "valid_api_versions": ["v1"],
            "policies": [{"name": "Policy-0", "default": True}],
            "allow_account_management": False,
            "account_autocreate": True,
            "strict_cors_mode": True,
        },
        "slo": {
            "max_manifest_segments": large.MAX_MANIFEST_SEGMENTS,
            "max_manifest_size": large.MAX_MANIFEST_SIZE,
            "min_segment_size": large.MIN_SEGMENT_SIZE,
        },
        "dlo": {},
        "bulk_delete": {
            "max_deletes_per_request": bulk.MAX_DELETES_PER_REQUEST,
            "max_failed_deletes": bulk.MAX_FAILED_DELETES,
        },
    }


def info_body(settings: Settings) -> bytes:
    return json.dumps(capabilities(settings)).encode()
