// Scenario 6, hostile input: malformed requests of every kind against `tbpay serve`. Each gets
// the documented reply (README "HTTP endpoints", docs/providers.md replies), nothing changes
// in the database, and the server stays up and keeps processing genuine callbacks. Slow-drip
// clients and idle connections are cut off by the server's timeouts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/payos/payos.h"
#include "reliability/support/serve.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using nlohmann::json;
using namespace std::string_literals;

struct Malformed {
  std::string name;
  std::string raw;       // the bytes sent on a fresh connection
  int status;            // documented HTTP status
  int return_code = 99;  // ZaloPay's return_code when it answers 200 (99: not checked)
};

// A ZaloPay callback whose `data` text is correctly signed, whatever it holds.
std::string zalopay_signed(const std::string& data_text, const json& type = 1) {
  return json{
      {"data", data_text}, {"mac", hmac_sha256_hex(kZaloPayKey2, data_text)}, {"type", type}}
      .dump();
}
// The `data` ZaloPay sends, as text, with one field replaced or removed (null value).
std::string zalopay_data(const std::string& field, const json& value,
                         const std::string& app_trans_id) {
  json d = {{"app_id", std::stoi(kZaloPayAppId)},
            {"app_trans_id", app_trans_id},
            {"app_time", 1765602318000},
            {"app_user", "tbpay"},
            {"amount", 100001},
            {"embed_data", "{}"},
            {"item", "[]"},
            {"zp_trans_id", 240000123},
            {"server_time", 1765602318385},
            {"channel", 38},
            {"merchant_user_id", ""},
            {"user_fee_amount", 0},
            {"discount_amount", 0}};
  if (value.is_null())
    d.erase(field);
  else
    d[field] = value;
  return d.dump();
}
// A PayOS webhook whose `data` is correctly signed, whatever it holds.
std::string payos_signed(const json& data) {
  return json{{"code", "00"},
              {"desc", "success"},
              {"success", true},
              {"data", data},
              {"signature", hmac_sha256_hex(kPayOsChecksumKey, payos_canonical_data(data))}}
      .dump();
}
json payos_data(const std::string& payment_link_id) {
  return {{"orderCode", 123},    {"amount", 100002},
          {"description", "TB"}, {"accountNumber", "1"},
          {"reference", "FT1"},  {"transactionDateTime", "2025-12-13 13:05:18"},
          {"currency", "VND"},   {"paymentLinkId", payment_link_id},
          {"code", "00"},        {"desc", "success"}};
}
std::string nested(char open, char close, int depth, const std::string& inner = "") {
  return std::string(static_cast<std::size_t>(depth), open) + inner +
         std::string(static_cast<std::size_t>(depth), close);
}
std::string post(const std::string& path, const std::string& body,
                 const std::string& headers = {}) {
  return raw_request("POST", path, body, headers);
}

TEST(HostileInput, EveryMalformedRequestGetsItsDocumentedReplyAndChangesNothing) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto payments = seed_payments(db.url(), "TB-HOSTILE-", 4);
  const SeededPayment& z = payments[0];  // 100001, ZaloPay
  const SeededPayment& p = payments[1];  // 100002, PayOS
  const std::string zp = "/webhook/zalopay", po = "/webhook/payos";
  const std::string valid_z = signed_callback(z);
  const std::string zid = z.provider_transaction_id;

  json payos_amount_text = payos_data(p.provider_transaction_id);
  payos_amount_text["amount"] = "100002";
  json payos_amount_huge = payos_data(p.provider_transaction_id);
  payos_amount_huge["amount"] = 1e300;
  json payos_no_link = payos_data(p.provider_transaction_id);
  payos_no_link.erase("paymentLinkId");
  json payos_link_number = payos_data(p.provider_transaction_id);
  payos_link_number["paymentLinkId"] = 42;
  json payos_no_code = payos_data(p.provider_transaction_id);
  payos_no_code.erase("code");
  json payos_deep = payos_data(p.provider_transaction_id);
  payos_deep["extra"] = json::parse(nested('[', ']', 200));
  json payos_wrong = json::parse(payos_signed(payos_data(p.provider_transaction_id)));
  payos_wrong["signature"] = std::string(64, '0');
  const std::string payos_wrong_signature = payos_wrong.dump();
  const std::string over_limit(64 * 1024 + 1, ' ');
  std::string chunked_over_limit;
  for (int i = 0; i < 70; ++i) chunked_over_limit += "400\r\n" + std::string(1024, 'x') + "\r\n";
  chunked_over_limit += "0\r\n\r\n";

  const std::vector<Malformed> cases = {
      // ZaloPay route: whatever it refuses, not a callback at all included -> 200, -1 (ZaloPay
      // reads return_code only from an HTTP 200).
      {"zalopay: empty body", post(zp, ""), 200, -1},
      {"zalopay: invalid JSON", post(zp, "{\"data\":"), 200, -1},
      {"zalopay: JSON null", post(zp, "null"), 200, -1},
      {"zalopay: JSON array", post(zp, "[1,2,3]"), 200, -1},
      {"zalopay: JSON string", post(zp, "\"data\""), 200, -1},
      {"zalopay: empty object", post(zp, "{}"), 200, -1},
      {"zalopay: data is a number", post(zp, R"({"data":1,"mac":"00","type":1})"), 200, -1},
      {"zalopay: mac is a number", post(zp, R"({"data":"{}","mac":12,"type":1})"), 200, -1},
      {"zalopay: type missing", post(zp, R"({"data":"{}","mac":"00"})"), 200, -1},
      {"zalopay: trailing garbage after the JSON", post(zp, valid_z + "garbage"), 200, -1},
      {"zalopay: two JSON documents", post(zp, valid_z + valid_z), 200, -1},
      {"zalopay: NUL byte after the JSON", post(zp, valid_z + "\0"s), 200, -1},
      {"zalopay: NUL byte inside", post(zp, "{\"data\":\"a\0b\",\"mac\":\"00\",\"type\":1}"s), 200, -1},
      {"zalopay: invalid UTF-8", post(zp, "{\"data\":\"\xff\xfe\",\"mac\":\"00\",\"type\":1}"),
       200, -1},
      {"zalopay: overlong UTF-8 encoding",
       post(zp, "{\"data\":\"\xc0\xaf\",\"mac\":\"00\",\"type\":1}"), 200, -1},
      {"zalopay: 30,000 nested arrays", post(zp, nested('[', ']', 30000)), 200, -1},
      {"zalopay: 10,000 nested objects",
       post(zp,
            [] {
              std::string s;
              for (int i = 0; i < 10000; ++i) s += "{\"a\":";
              return s + "1" + std::string(10000, '}');
            }()),
       200, -1},
      {"zalopay: signed data that is not JSON", post(zp, zalopay_signed("not json at all")), 200,
       -1},
      {"zalopay: signed data that is a JSON array", post(zp, zalopay_signed("[1,2]")), 200, -1},
      {"zalopay: signed data with a NUL escape", post(zp, zalopay_signed("{\"app_id\":2554}\0x"s)),
       200, -1},
      {"zalopay: signed data nested 20,000 deep",
       post(zp, zalopay_signed(R"({"app_id":2554,"x":)" + nested('[', ']', 20000) + "}")), 200, -1},
      {"zalopay: signed, amount is a string",
       post(zp, zalopay_signed(zalopay_data("amount", "100001", zid))), 200, -1},
      {"zalopay: signed, amount 1e30", post(zp, zalopay_signed(zalopay_data("amount", 1e30, zid))),
       200, -1},
      {"zalopay: signed, amount past 64 bits",
       post(zp, zalopay_signed(R"({"app_id":2554,"app_trans_id":")" + zid +
                               R"(","amount":99999999999999999999999})")),
       200, -1},
      {"zalopay: signed, amount negative",
       post(zp, zalopay_signed(zalopay_data("amount", -100001, zid))), 200, -1},
      {"zalopay: signed, amount fractional",
       post(zp, zalopay_signed(zalopay_data("amount", 100001.5, zid))), 200, -1},
      {"zalopay: signed, amount missing",
       post(zp, zalopay_signed(zalopay_data("amount", nullptr, zid))), 200, -1},
      {"zalopay: signed, app_trans_id is a number",
       post(zp, zalopay_signed(zalopay_data("app_trans_id", 251213, zid))), 200, -1},
      {"zalopay: signed, app_trans_id empty",
       post(zp, zalopay_signed(zalopay_data("app_trans_id", "", zid))), 200, -1},
      {"zalopay: signed, app_id is an object",
       post(zp, zalopay_signed(zalopay_data("app_id", json::object(), zid))), 200, -1},
      {"zalopay: signed, app_id missing",
       post(zp, zalopay_signed(zalopay_data("app_id", nullptr, zid))), 200, -1},
      {"zalopay: signed, type 2", post(zp, zalopay_signed(zalopay_data("amount", 100001, zid), 2)),
       200, -1},
      {"zalopay: signed, type is a string",
       post(zp, zalopay_signed(zalopay_data("amount", 100001, zid), "1")), 200, -1},
      {"zalopay: signed, type is null",
       post(zp, zalopay_signed(zalopay_data("amount", 100001, zid), nullptr)), 200, -1},
      {"zalopay: mac of 60 KiB",
       post(zp, json{{"data", "{}"}, {"mac", std::string(60000, 'a')}, {"type", 1}}.dump()), 200,
       -1},
      // PayOS route: 400 malformed, 401 bad signature.
      {"payos: empty body", post(po, ""), 400},
      {"payos: invalid JSON", post(po, "{\"code\":\"00\","), 400},
      {"payos: data is a string",
       post(po, R"({"code":"00","desc":"success","data":"{}","signature":"00"})"), 400},
      {"payos: data is null",
       post(po, R"({"code":"00","desc":"success","data":null,"signature":"00"})"), 400},
      {"payos: signature is a number",
       post(po, R"({"code":"00","desc":"success","data":{},"signature":7})"), 400},
      {"payos: code missing", post(po, R"({"desc":"success","data":{},"signature":"00"})"), 400},
      {"payos: invalid UTF-8",
       post(po, "{\"code\":\"\xed\xa0\x80\",\"desc\":\"\",\"data\":{},\"signature\":\"00\"}"), 400},
      {"payos: NUL byte inside",
       post(po, "{\"code\":\"00\",\"desc\":\"\0\",\"data\":{},\"signature\":\"00\"}"s), 400},
      {"payos: data nested 200 deep", post(po, payos_signed(payos_deep)), 400},
      {"payos: well-formed, signature wrong", post(po, payos_wrong_signature), 401},
      {"payos: signed, amount is a string", post(po, payos_signed(payos_amount_text)), 400},
      {"payos: signed, amount 1e300", post(po, payos_signed(payos_amount_huge)), 400},
      {"payos: signed, paymentLinkId missing", post(po, payos_signed(payos_no_link)), 400},
      {"payos: signed, paymentLinkId is a number", post(po, payos_signed(payos_link_number)), 400},
      {"payos: signed, code missing", post(po, payos_signed(payos_no_code)), 400},
      // Plain /webhook: the provider is recognised by shape, or 400.
      {"webhook: empty object", post("/webhook", "{}"), 400},
      {"webhook: not JSON", post("/webhook", "hello"), 400},
      {"webhook: JSON array", post("/webhook", "[{\"data\":\"\",\"mac\":\"\",\"type\":1}]"), 400},
      {"webhook: half a ZaloPay shape", post("/webhook", R"({"data":"{}","mac":"00"})"), 400},
      // HTTP itself.
      {"http: body over 64 KiB", post(zp, over_limit), 413},
      {"http: Content-Length of 10 GB, no body",
       "POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n", 413},
      {"http: chunked body over 64 KiB",
       "POST /webhook/payos HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunked_over_limit,
       413},
      {"http: 100-continue for an oversized body",
       "POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
       "100000\r\n\r\n",
       413},
      {"http: POST without Content-Length or body",
       "POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\n\r\n", 200, -1},
      {"http: GET a webhook", raw_request("GET", zp, ""), 405},
      {"http: PUT a webhook", raw_request("PUT", po, "{}"), 405},
      {"http: DELETE /webhook", raw_request("DELETE", "/webhook", ""), 405},
      {"http: POST /healthz", post("/healthz", "{}"), 405},
      {"http: unknown path", post("/nope", "{}"), 404},
      {"http: path below a webhook", post("/webhook/zalopay/extra", valid_z), 404},
      {"http: dot segments", post("/webhook/../webhook/zalopay", valid_z), 404},
      {"http: 8 KiB path", post("/" + std::string(8192, 'a'), "{}"), 404},
      {"http: garbage request line", "HELLO THERE\r\n\r\n", 400},
      {"http: invalid method token",
       "P@ST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 400},
      {"http: bare LF line endings", "POST /webhook HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
       400},
      {"http: header block over 16 KiB",
       "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'p') +
           "\r\nContent-Length: 2\r\n\r\n{}",
       431},
      {"http: Content-Length not a number",
       "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}", 400},
      {"http: two different Content-Lengths",
       "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
       400},
      {"http: bad chunk size",
       "POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400},
      {"http: NUL in a header",
       "POST /webhook HTTP/1.1\r\nHost: x\0y\r\nContent-Length: 2\r\n\r\n{}"s, 400},
      {"http: HTTP/3.7 version", "POST /webhook HTTP/3.7\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
       400},
  };
  const auto& table = cases;

  ServeUnderTest serve(tbpay_env(db.url()), folder.path());
  const auto port = serve.port();

  // The slow ones run beside the table: the server's 10 s request timeout cuts them off.
  std::atomic<int> slow_cut_off{0}, idle_closed{0};
  std::vector<std::thread> slow;
  auto drip = [&](std::string head, std::string tail) {
    slow.emplace_back([&, head, tail] {
      HttpClient c(port);
      c.send(head);
      for (std::size_t i = 0; i < tail.size(); ++i) {
        if (!c.send(tail.substr(i, 1)) || c.closed_by_server_after_any_reply(300ms)) {
          ++slow_cut_off;
          return;
        }
      }
    });
  };
  drip("POST /webhook/zalopay HTTP/1.1\r\n",
       "X-Slow: " + std::string(200, 's') + "\r\n\r\n");  // slow headers
  drip("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n",
       std::string(200, ' '));  // slow body
  slow.emplace_back([&] {       // a body that never comes
    HttpClient c(port);
    c.send("POST /webhook/payos HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"code\"");
    if (c.closed_by_server_after_any_reply(30s)) ++slow_cut_off;
  });
  constexpr int kIdle = 300;
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < kIdle; ++i) idle.push_back(std::make_unique<HttpClient>(port));

  for (const auto& c : table) {
    auto r = http_once(port, c.raw);
    ASSERT_TRUE(r) << c.name << ": no reply";
    EXPECT_EQ(status_of(*r), c.status) << c.name << ": " << r->body();
    EXPECT_TRUE(json::accept(r->body())) << c.name << ": reply is not JSON: " << r->body();
    if (c.status == 200 && c.return_code != 99) {
      EXPECT_EQ(json::parse(r->body()).value("return_code", 99), c.return_code)
          << c.name << ": " << r->body();
    }
    if (c.status == 405) {
      EXPECT_FALSE((*r)["allow"].empty()) << c.name;
    }
  }

  // With 300 idle connections open, a genuine callback still goes through on a new one.
  auto during = http_once(port, post(zp, valid_z));
  ASSERT_TRUE(during);
  EXPECT_EQ(json::parse(during->body()).value("return_code", 99), 1) << during->body();

  for (auto& t : slow) t.join();
  EXPECT_EQ(slow_cut_off.load(), 3) << "slow-drip clients that the server did not cut off";
  for (auto& c : idle)
    if (c->closed_by_server_after_any_reply(30s)) ++idle_closed;
  EXPECT_EQ(idle_closed.load(), kIdle) << "idle connections the server left open";

  // Nothing changed but the one genuine callback; the server is up and still works.
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), 1);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM payments WHERE status <> 'PENDING'"), 1);
  ASSERT_TRUE(serve.process().running());
  auto after = http_once(port, post(po, signed_callback(p)));
  ASSERT_TRUE(after);
  EXPECT_EQ(status_of(*after), 200) << after->body();
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), 2);
  for (const auto& line : serve.process().log_lines()) {
    EXPECT_NE(line.value("http_status", 0), 500) << line.dump();
    EXPECT_NE(line.value("message", ""), "request failed") << line.dump();
  }
  std::printf(
      "hostile: %zu malformed requests, 3 slow-drip clients cut off, %d idle connections closed\n",
      table.size(), idle_closed.load());
}

}  // namespace
}  // namespace tbpay::reliability
