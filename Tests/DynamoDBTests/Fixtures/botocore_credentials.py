#!/usr/bin/env python3
"""Reports which credential provider botocore's default resolver picks, and which region it
reads, for given environments, so the Swift chain's precedence can be checked against
botocore's own on the same files.

Reads a JSON list of cases on standard input, each {"env": {NAME: VALUE}}: the whole
environment botocore sees for that case (the shared files are named in it, through
AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE and HOME). Writes a JSON list, in the same order,
of {"method": botocore's credentials method (such as "env", "assume-role",
"assume-role-with-web-identity", "shared-credentials-file", "custom-process", "config-file")
or null when it finds none, "error": the exception's class name when it raised (its
message is not reported), "region": the region or null, and "regionError": the exception's
class name when reading the region raised}.

Nothing here reaches the network: assume-role and web identity credentials are deferred
until first used, and botocore is never asked to use them.
"""
import json
import os
import sys

import botocore.session


def resolve(case):
    os.environ.clear()
    os.environ.update(case["env"])
    session = botocore.session.Session()
    result = {"method": None, "error": None, "region": None}
    try:
        result["region"] = session.get_config_variable("region")
    except Exception as error:  # a missing AWS_PROFILE profile: botocore refuses the lookup
        result["regionError"] = type(error).__name__
    try:
        credentials = session.get_credentials()
        if credentials is not None:
            result["method"] = credentials.method
    except Exception as error:  # the class name is the verdict; the message may hold paths
        result["error"] = type(error).__name__
    return result


if __name__ == "__main__":
    cases = json.load(sys.stdin)
    json.dump([resolve(case) for case in cases], sys.stdout)
