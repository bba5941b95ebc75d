"""Request documents: each read by its own typed parser and checked against its shape."""

from __future__ import annotations

import pytest

from cumulo.s3 import errors as s3
from cumulo.s3 import xml
from cumulo.s3.xml import (
    parse_access_control_policy,
    parse_complete_multipart_upload,
    parse_create_bucket_configuration,
    parse_delete,
)

NS = f'xmlns="{xml.NS}"'
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def test_create_bucket_configuration() -> None:
    body = f"<CreateBucketConfiguration {NS}><LocationConstraint>eu-1</LocationConstraint>"
    assert parse_create_bucket_configuration((body + "</CreateBucketConfiguration>").encode()) == (
        "eu-1"
    )
    for empty in (
        b"<CreateBucketConfiguration/>",
        b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>",
        b" <CreateBucketConfiguration>\n </CreateBucketConfiguration>",
    ):
        assert parse_create_bucket_configuration(empty) is None


@pytest.mark.parametrize(
    "body",
    [
        # 50,000 nested unknown elements: refused while parsing, before a tree is built.
        b"<CreateBucketConfiguration>"
        + b"<a>" * 50_000
        + b"</a>" * 50_000
        + b"</CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><Unknown/></CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
        b"<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><LocationConstraint><x/></LocationConstraint>"
        b"</CreateBucketConfiguration>",
        b"<CreateBucketConfiguration>text<LocationConstraint>a</LocationConstraint>"
        b"</CreateBucketConfiguration>",
        b"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>tail"
        b"</CreateBucketConfiguration>",
        b"<Other><LocationConstraint>a</LocationConstraint></Other>",
        b"<CreateBucketConfiguration>",
        b"",
    ],
)
def test_create_bucket_configuration_refused(body: bytes) -> None:
    with pytest.raises(s3.MalformedXML):
        parse_create_bucket_configuration(body)


def test_a_deep_document_stops_the_parse_early() -> None:
    builder = xml._Bounded(xml.CREATE_BUCKET_CONFIGURATION, s3.MalformedXML)
    assert builder.max_depth == 2 and builder.max_elements == 2
    assert xml.ACCESS_CONTROL_POLICY.depth == 5
    assert xml.DELETE.max_elements == 1 + 1000 * 6 + 1


def test_delete() -> None:
    body = (
        f"<Delete {NS}><Quiet>true</Quiet>"
        "<Object><Key> spaced key </Key></Object>"
        "<Object><Key>v</Key><VersionId>null</VersionId></Object></Delete>"
    ).encode()
    request = parse_delete(body)
    assert request.quiet
    assert [(o.key, o.version_id) for o in request.objects] == [
        (" spaced key ", None),
        ("v", "null"),
    ]
    assert not any(o.conditional for o in request.objects)
    conditional = parse_delete(b"<Delete><Object><Key>k</Key><ETag>x</ETag></Object></Delete>")
    assert conditional.objects[0].conditional and not conditional.quiet


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete></Delete>",
        b"<Delete><Object></Object></Delete>",
        b"<Delete><Object><Key></Key></Object></Delete>",
        b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
        b"<Delete><Object><Key>a</Key><Extra/></Object></Delete>",
        b"<Delete><Object><Key>a</Key></Object><Quiet>maybe</Quiet></Delete>",
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
    ],
)
def test_delete_refused(body: bytes) -> None:
    with pytest.raises(s3.MalformedXML):
        parse_delete(body)


def test_complete_multipart_upload() -> None:
    body = (
        f"<CompleteMultipartUpload {NS}>"
        '<Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><ChecksumCRC32>AAAA</ChecksumCRC32>'
        "</Part><Part><ETag>e2</ETag><PartNumber> 2 </PartNumber></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    parts = parse_complete_multipart_upload(body)
    assert [(p.number, p.etag, p.checksums) for p in parts] == [
        (1, '"e1"', {"CRC32": "AAAA"}),
        (2, "e2", {}),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>"
        b"<ChecksumMD4>x</ChecksumMD4></Part></CompleteMultipartUpload>",
    ],
)
def test_complete_multipart_upload_refused(body: bytes) -> None:
    with pytest.raises(s3.MalformedXML):
        parse_complete_multipart_upload(body)


def _policy(grants: str, owner: str = "<Owner><ID>p</ID></Owner>") -> bytes:
    return (
        f'<AccessControlPolicy {NS} xmlns:xsi="{xml.XSI}">{owner}'
        f"<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(kind: str, who: str, permission: str) -> str:
    grantee = f'<Grantee xsi:type="{kind}">{who}</Grantee>'
    return f"<Grant>{grantee}<Permission>{permission}</Permission></Grant>"


def test_access_control_policy() -> None:
    policy = parse_access_control_policy(
        _policy(
            _grant("CanonicalUser", "<ID>p</ID><DisplayName>p</DisplayName>", "FULL_CONTROL")
            + _grant("Group", f"<URI>{ALL_USERS}</URI>", "READ")
        )
    )
    assert policy.owner_id == "p"
    assert [(g.kind, g.id, g.uri, g.permission) for g in policy.grants] == [
        ("CanonicalUser", "p", None, "FULL_CONTROL"),
        ("Group", None, ALL_USERS, "READ"),
    ]
    assert parse_access_control_policy(_policy("", owner="")).grants == []


@pytest.mark.parametrize(
    "body",
    [
        _policy(_grant("CanonicalUser", "<ID>p</ID>", "EVERYTHING")),
        _policy(_grant("Martian", "<ID>p</ID>", "READ")),
        _policy(_grant("Group", "<ID>p</ID>", "READ")),  # a Group needs its URI
        _policy("<Grant><Permission>READ</Permission></Grant>"),
        _policy("<Unknown/>"),
        b"<AccessControlPolicy><Owner><ID>p</ID></Owner></AccessControlPolicy>",
        b"<AccessControlPolicy><AccessControlList>" + b"<a>" * 50_000,
    ],
)
def test_access_control_policy_refused(body: bytes) -> None:
    with pytest.raises(s3.MalformedACLError):
        parse_access_control_policy(body)


def test_entities_and_dtds_are_refused() -> None:
    for body in (
        b'<!DOCTYPE d [<!ENTITY k "x">]><Delete><Object><Key>&k;</Key></Object></Delete>',
        b'<!DOCTYPE d SYSTEM "http://127.0.0.1/d.dtd"><Delete/>',
    ):
        with pytest.raises(s3.MalformedXML):
            parse_delete(body)
