#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_http_request and fuzz_api_gateway: correctly signed
callbacks for the payments fuzz/support/ingestion_env.h creates, and the request and event
shapes around them. Run from the repository root: python3 fuzz/support/make_seeds.py"""
import base64
import hashlib
import hmac
import json
import os

ZALOPAY_APP_ID, ZALOPAY_KEY2, PAYOS_CHECKSUM = 2553, b"fuzz-key2", b"fuzz-checksum"


def mac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def zalopay(app_trans_id, amount, app_id=ZALOPAY_APP_ID):
    data = json.dumps({"app_id": app_id, "app_trans_id": app_trans_id, "app_time": 1765602318000,
                       "app_user": "tbpay", "amount": amount, "embed_data": "{}", "item": "[]",
                       "zp_trans_id": 240000123, "server_time": 1765602318385, "channel": 38,
                       "merchant_user_id": "", "user_fee_amount": 0, "discount_amount": 0},
                      separators=(",", ":"))
    return json.dumps({"data": data, "mac": mac(ZALOPAY_KEY2, data), "type": 1}, separators=(",", ":"))


def payos_canonical(data):
    def value(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (dict, list)):
            return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return str(v)
    return "&".join(f"{k}={value(data[k])}" for k in sorted(data))


def payos(link, amount, code="00", upper=False):
    data = {"orderCode": 123, "amount": amount, "description": "TB thanh toan", "accountNumber": "12345678",
            "reference": "FT25121312345", "transactionDateTime": "2025-12-13 13:05:18", "currency": "VND",
            "paymentLinkId": link, "code": code, "desc": "success" if code == "00" else "failed",
            "counterAccountBankId": "", "counterAccountBankName": "", "counterAccountName": None,
            "counterAccountNumber": "", "virtualAccountName": "", "virtualAccountNumber": ""}
    sig = mac(PAYOS_CHECKSUM, payos_canonical(data))
    return json.dumps({"code": "00", "desc": "success", "success": True, "data": data,
                       "signature": sig.upper() if upper else sig}, separators=(",", ":"))


def post(path, body, headers=""):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body.encode())}\r\n{headers}\r\n{body}")


Z1, Z2 = zalopay("251213_TB-FUZZ-Z1", 150000), zalopay("251213_TB-FUZZ-Z2", 99000)
P1, P2 = payos("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 120000), payos("a5b4c3d2e1f00f1e2d3c4b5a69788796", 50000, "01")


def chunked(path, body):
    mid = len(body) // 2
    parts = [body[:mid], body[mid:]]
    out = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for p in parts:
        out += f"{len(p.encode()):x}\r\n{p}\r\n"
    return out + "0\r\n\r\n"


http = {
    "zalopay-valid": post("/webhook/zalopay", Z1),
    "zalopay-alias": post("/webhook/zalo-pay", Z2),
    "zalopay-amount-mismatch": post("/webhook/zalopay", zalopay("251213_TB-FUZZ-Z1", 1000)),
    "zalopay-other-app": post("/webhook/zalopay", zalopay("251213_TB-FUZZ-Z1", 150000, 9999)),
    "zalopay-unknown-order": post("/webhook/zalopay", zalopay("251213_TB-NOPE", 1)),
    "payos-valid": post("/webhook/payos", P1, "X-Request-Id: fuzz-1\r\n"),
    "payos-failed": post("/webhook/pay-os", P2),
    "payos-upper": post("/webhook/payos", payos("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 120000, upper=True)),
    "payos-mismatch": post("/webhook/payos", payos("0f1e2d3c4b5a69788796a5b4c3d2e1f0", 7)),
    "webhook-shape-zalopay": post("/webhook", Z1),
    "webhook-shape-payos": post("/webhook/?x=1", P1),
    "pipelined": post("/webhook/zalopay", Z2) + post("/webhook/payos", P1) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "chunked": chunked("/webhook/payos", P1),
    "expect-continue": post("/webhook/zalopay", Z1, "Expect: 100-continue\r\n"),
    "connection-close": post("/webhook/zalopay", Z1, "Connection: close\r\n"),
    "http10": f"POST /webhook/zalopay HTTP/1.0\r\nContent-Length: {len(Z1)}\r\n\r\n{Z1}",
    "healthz": "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "readyz-head": "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
    "readyz": "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
    "not-found": "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
    "method": "PUT /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "too-large": "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n{",
    "bad-json": post("/webhook/zalopay", '{"data":"x","mac":1'),
    "partial": "POST /webhook/payos HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"code\"",
}


def v1(method, path, body=None, b64=False, stage=None):
    e = {"resource": "/webhook/{provider}", "path": path, "httpMethod": method,
         "headers": {"content-type": "application/json"}, "queryStringParameters": None,
         "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "httpMethod": method,
                            "path": path, "stage": stage or "prod"},
         "body": base64.b64encode(body.encode()).decode() if (b64 and body) else body,
         "isBase64Encoded": b64}
    return json.dumps(e)


def v2(method, path, body=None, b64=False, stage="$default"):
    e = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "a=1",
         "headers": {"content-type": "application/json"},
         "requestContext": {"requestId": "JKJaXmPLvHcESHA=", "stage": stage,
                            "http": {"method": method, "path": path, "protocol": "HTTP/1.1"}},
         "body": base64.b64encode(body.encode()).decode() if (b64 and body) else body,
         "isBase64Encoded": b64}
    return json.dumps(e)


gateway = {
    "v1-zalopay": v1("POST", "/webhook/zalopay", Z1),
    "v1-payos-base64": v1("POST", "/webhook/payos", P1, b64=True),
    "v1-stage-prefix": v1("POST", "/dev/webhook/zalopay", Z2, stage="dev"),
    "v1-readyz": v1("GET", "/readyz"),
    "v2-payos": v2("POST", "/webhook/payos", P2),
    "v2-zalopay-base64": v2("POST", "/webhook", Z1, b64=True),
    "v2-stage": v2("POST", "/staging/webhook/pay-os", P1, stage="staging"),
    "v2-method": v2("GET", "/webhook/zalopay"),
    "hybrid": json.dumps({"httpMethod": "POST", "path": "/webhook/zalopay?x=y",
                          "requestContext": {"http": {"method": "POST", "path": "/webhook/zalopay"}},
                          "body": Z1}),
    "bad-base64": json.dumps({"httpMethod": "POST", "path": "/webhook", "body": "###", "isBase64Encoded": True}),
    "not-an-event": json.dumps({"source": "aws.events", "detail-type": "Scheduled Event"}),
}

for folder, seeds in (("fuzz/corpus/fuzz_http_request", http), ("fuzz/corpus/fuzz_api_gateway", gateway)):
    os.makedirs(folder, exist_ok=True)
    for name, text in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(text.encode())
