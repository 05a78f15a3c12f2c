#!/usr/bin/env python3
"""Signs requests with botocore's SigV4Auth at a fixed time, so the Swift signer can be
checked against an independent implementation.

Reads a JSON list of cases on standard input, each with method, path (not encoded), query
(decoded [name, value] pairs), headers ([name, value] pairs), body, accessKeyID,
secretAccessKey, sessionToken (or null), region, service and date (YYYY-MM-DDTHH:MM:SSZ), and
optionally s3 (sign with S3SigV4Auth, which signs the path as sent and adds
X-Amz-Content-SHA256) and contentSHA256 (the payload hash S3 is told instead of the body's).
The path is sent URI-encoded once, as a client sends it. Writes a JSON list of
{"authorization", "amzDate", "securityToken", "contentSHA256"} in the same order.
"""
import datetime
import json
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
import botocore.awsrequest
import botocore.credentials


class GivenPayloadS3SigV4Auth(botocore.auth.S3SigV4Auth):
    """S3SigV4Auth told the payload hash (a streamed file's SHA-256, or UNSIGNED-PAYLOAD)."""

    def __init__(self, credentials, service, region, content_sha256):
        super().__init__(credentials, service, region)
        self.content_sha256 = content_sha256

    def payload(self, request):
        return self.content_sha256


def signer(case, credentials):
    if not case.get("s3"):
        return botocore.auth.SigV4Auth(credentials, case["service"], case["region"])
    if case.get("contentSHA256") is not None:
        return GivenPayloadS3SigV4Auth(credentials, case["service"], case["region"], case["contentSHA256"])
    return botocore.auth.S3SigV4Auth(credentials, case["service"], case["region"])


def sign(case):
    credentials = botocore.credentials.Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
    query = "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in case["query"])
    host = dict((name.lower(), value) for name, value in case["headers"])["host"]
    url = f"https://{host}{quote(case['path'], safe='/~')}" + (f"?{query}" if query else "")
    request = botocore.awsrequest.AWSRequest(
        method=case["method"], url=url, data=case["body"].encode("utf-8"), headers=dict(case["headers"])
    )
    when = datetime.datetime.strptime(case["date"], "%Y-%m-%dT%H:%M:%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer(case, credentials).add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "amzDate": request.headers["X-Amz-Date"],
        "securityToken": request.headers.get("X-Amz-Security-Token"),
        "contentSHA256": request.headers.get("X-Amz-Content-SHA256"),
    }


if __name__ == "__main__":
    json.dump([sign(case) for case in json.load(sys.stdin)], sys.stdout)
