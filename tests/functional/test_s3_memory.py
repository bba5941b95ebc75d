"""A GiB through boto3 (one PutObject, a multipart upload, streamed GETs) in flat memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from tests.functional.s3_support import (
    MiB,
    S3User,
    peak_rss_kib,
    random_file,
    sha256_file,
)
from tests.harness import Server

GiB = 1024 * MiB


@pytest.mark.slow
def test_one_gib_through_boto3_in_flat_memory(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1).start()
    try:
        user = S3User.create(server, "mem", "env", "gus", tmp_path / "home")
        s3 = user.client()
        s3.create_bucket(Bucket="big")
        source = tmp_path / "gib.bin"
        expected = random_file(source, GiB)

        with open(source, "rb") as f:  # one PutObject: the body streams, SHA-256 signed
            s3.put_object(Bucket="big", Key="single", Body=f)
        got = s3.get_object(Bucket="big", Key="single")
        assert got["ContentLength"] == GiB
        digest = hashlib.sha256()
        for block in got["Body"].iter_chunks(4 * MiB):
            digest.update(block)
        assert digest.hexdigest() == expected

        # The transfer manager: parallel parts up, parallel ranged GETs down.
        config = TransferConfig(multipart_chunksize=64 * MiB)
        with open(source, "rb") as f:
            s3.upload_fileobj(f, "big", "multi", Config=config)
        source.unlink()
        target = tmp_path / "down.bin"
        with open(target, "wb") as f:
            s3.download_fileobj("big", "multi", f, Config=config)
        assert sha256_file(target) == expected

        # The whole tree (supervisor, metadata writer, worker), as a user's `ps`/`top`
        # would add it up.
        peaks = peak_rss_kib(server)
        assert len(peaks) == 3, f"expected supervisor, metadata writer, 1 worker: {peaks}"
        assert sum(peaks.values()) < 200 * 1024, f"peak RSS (KiB) by process: {peaks}"
    finally:
        server.stop()
    assert "Traceback" not in server.log()
