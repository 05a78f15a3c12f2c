#!/usr/bin/env python3
"""Resolves DynamoDB's endpoint URL with botocore's own endpoint rules, so the Swift client's
host names can be checked against an independent implementation.

Reads a JSON list of cases on standard input, each {"region", "fips", "dualstack"}, and writes
a JSON list of the endpoint URLs botocore's client would send to, in the same order (an
error's name where botocore refuses the combination). No request is sent.
"""
import json
import sys

import botocore.session
from botocore.config import Config


def resolve(session, case):
    config = Config(
        use_fips_endpoint=case["fips"],
        use_dualstack_endpoint=case["dualstack"],
        # An account-based endpoint ({account}.ddb...) needs an account id; ours has none.
        account_id_endpoint_mode="disabled",
    )
    try:
        client = session.create_client(
            "dynamodb", region_name=case["region"], config=config,
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        )
    except Exception as error:  # botocore refuses some combinations in some partitions
        return "error: " + type(error).__name__
    return client.meta.endpoint_url


if __name__ == "__main__":
    session = botocore.session.get_session()
    json.dump([resolve(session, case) for case in json.load(sys.stdin)], sys.stdout)
