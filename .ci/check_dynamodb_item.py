#!/usr/bin/env python3
"""End-to-end check of the DynamoDB item shape with an independent reader (boto3).

Runs the real qualia-webhook binary with STORE=dynamodb against the moto server at
$DYNAMODB_TEST_ENDPOINT: creates the table with `create-table`, POSTs the spec's example
webhook over HTTP, then reads the raw item back with boto3 and compares it attribute for
attribute, type for type, with the spec's stored attributes.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3

BINARY = sys.argv[1]
ENDPOINT = os.environ["DYNAMODB_TEST_ENDPOINT"]
TABLE = "ci-item-shape-check"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    env = dict(os.environ, STORE="dynamodb", DYNAMODB_TABLE=TABLE, AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL_DYNAMODB=ENDPOINT, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true", WEBHOOK_USERNAME="webhook_user", WEBHOOK_PASSWORD="webhook_pass",
               PORT=str(port), HOST="127.0.0.1")
    subprocess.run([BINARY, "create-table"], env=env, check=True)
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        payload = {
            "order_id": "QO-123456", "message_id": "MSG-001", "order_number": "ORD-2025-001", "from_name": "John Smith",
            "text": "Message content here", "created_date": "2025-10-28T10:30:00Z", "read": False,
            "attachments": [{"_id": "ATT-001", "name": "document.pdf", "url": "https://example.com/files/document.pdf", "tag": "contract"}],
            "message_type": "message.received", "timestamp": "2025-10-28T10:30:00Z",
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhook/messages", data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(b"webhook_user:webhook_pass").decode()})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status
    finally:
        server.terminate()
        server.wait(timeout=30)

    dynamodb = boto3.client("dynamodb", endpoint_url=ENDPOINT, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    item = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "MESSAGE#QO-123456"}, "SK": {"S": "message.received#MSG-001"}},
                             ConsistentRead=True)["Item"]
    stored_at = item.pop("storedAt")
    assert set(stored_at) == {"S"} and stored_at["S"].endswith("Z"), stored_at
    expected = {
        "PK": {"S": "MESSAGE#QO-123456"}, "SK": {"S": "message.received#MSG-001"}, "orderId": {"S": "QO-123456"},
        "messageId": {"S": "MSG-001"}, "messageType": {"S": "message.received"}, "fromName": {"S": "John Smith"},
        "text": {"S": "Message content here"}, "createdDate": {"S": "2025-10-28T10:30:00Z"}, "read": {"BOOL": False},
        "timestamp": {"N": "1761647400000"}, "orderNumber": {"S": "ORD-2025-001"},
        "attachments": {"L": [{"M": {"_id": {"S": "ATT-001"}, "name": {"S": "document.pdf"},
                                     "url": {"S": "https://example.com/files/document.pdf"}, "tag": {"S": "contract"}}}]},
    }
    if item != expected:
        print("item shape differs from the spec:\n got      " + json.dumps(item, sort_keys=True)
              + "\n expected " + json.dumps(expected, sort_keys=True), file=sys.stderr)
        sys.exit(1)
    print("ci: boto3 reads the stored item in the spec's shape, attribute for attribute")


if __name__ == "__main__":
    main()
