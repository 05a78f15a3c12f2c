#!/usr/bin/env python3
"""Signs requests with botocore's SigV4Auth at a fixed time, so the Swift signer can be
checked against an independent implementation.

Reads a JSON list of cases on standard input, each with method, path, query (decoded
[name, value] pairs), headers ([name, value] pairs), body, accessKeyID, secretAccessKey,
sessionToken (or null), region, service and date (YYYY-MM-DDTHH:MM:SSZ). Writes a JSON list
of {"authorization", "amzDate", "securityToken"} in the same order.
"""
import datetime
import json
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def sign(case):
    credentials = botocore.credentials.Credentials(case["accessKeyID"], case["secretAccessKey"], case.get("sessionToken"))
    query = "&".join(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in case["query"])
    host = dict((name.lower(), value) for name, value in case["headers"])["host"]
    url = f"https://{host}{case['path']}" + (f"?{query}" if query else "")
    request = botocore.awsrequest.AWSRequest(
        method=case["method"], url=url, data=case["body"].encode("utf-8"), headers=dict(case["headers"])
    )
    when = datetime.datetime.strptime(case["date"], "%Y-%m-%dT%H:%M:%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "amzDate": request.headers["X-Amz-Date"],
        "securityToken": request.headers.get("X-Amz-Security-Token"),
    }


if __name__ == "__main__":
    json.dump([sign(case) for case in json.load(sys.stdin)], sys.stdout)
