// Scenario 5, forgery and tampering over HTTP against `tbpay serve`: no forged or altered
// callback changes a payment; a correctly signed callback with the wrong amount or app_id is
// a security event ("alert": true in its log line).
//
// Signature case (docs/providers.md): ZaloPay's mac is lower-case hex, so an upper-cased mac is not
// ZaloPay's and is refused; PayOS signatures compare case-insensitively, so both cases pass.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/zalopay/zalopay.h"
#include "reliability/support/serve.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using nlohmann::json;

struct Forgery {
  std::string name;
  std::string path;
  std::string body;
  int status;       // expected HTTP status
  int return_code;  // ZaloPay's expected return_code (ignored for PayOS)
  bool alert;
};

std::string with_field(const std::string& body, const std::string& field, json value) {
  json j = json::parse(body);
  j[field] = std::move(value);
  return j.dump();
}
std::string field(const std::string& body, const std::string& name) {
  return json::parse(body)[name].get<std::string>();
}
// One hex digit changed.
std::string flipped(std::string hex, std::size_t at = 10) {
  hex[at] = hex[at] == 'a' ? 'b' : 'a';
  return hex;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
// Replaces the first `from` inside the body's `data` (a string for ZaloPay, an object for
// PayOS) without re-signing it.
std::string zalopay_data_edited(const std::string& body, const std::string& from,
                                const std::string& to) {
  std::string data = field(body, "data");
  const auto at = data.find(from);
  if (at == std::string::npos) throw std::runtime_error("no " + from + " in " + data);
  data.replace(at, from.size(), to);
  return with_field(body, "data", data);
}

TEST(Forgery, NoForgedOrTamperedCallbackChangesStateAndMismatchesRaiseAnAlert) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto p = seed_payments(db.url(), "TB-FORGE-", 8);
  // Odd positions ZaloPay, even PayOS (seed order): z1 z2 z3, p1 p2 p3 p4.
  const SeededPayment &z1 = p[0], &z2 = p[2], &z3 = p[4];
  const SeededPayment &p1 = p[1], &p2 = p[3], &p3 = p[5], &p4 = p[7];
  ASSERT_EQ(z1.provider, Provider::ZaloPay);
  ASSERT_EQ(p1.provider, Provider::PayOS);

  const std::string zp = "/webhook/zalopay", po = "/webhook/payos";
  const std::string z1_body = signed_callback(z1), z2_body = signed_callback(z2);
  const std::string p1_body = signed_callback(p1), p2_body = signed_callback(p2);
  ZaloPayKeys wrong_zalopay = zalopay_keys();
  wrong_zalopay.key2 = "zp-key2-NOT-THE-KEY";
  ZaloPayKeys key1_signed = zalopay_keys();
  key1_signed.key2 = kZaloPayKey1;
  PayOsKeys wrong_payos = payos_keys();
  wrong_payos.checksum_key = "payos-checksum-NOT-THE-KEY";
  PayOsKeys api_key_signed = payos_keys();
  api_key_signed.checksum_key = kPayOsApiKey;
  ZaloPayCallbackData other_app;
  other_app.app_id = "9999";
  other_app.app_trans_id = z1.provider_transaction_id;
  other_app.amount = z1.amount;
  const std::string z1_mac = field(z1_body, "mac");
  const std::string p1_signature = field(p1_body, "signature");

  const std::vector<Forgery> forgeries = {
      {"zalopay: signed with a wrong key", zp,
       zalopay_callback(z1.provider_transaction_id, z1.amount, wrong_zalopay), 200, -1, false},
      {"zalopay: signed with key1 instead of key2", zp,
       zalopay_callback(z1.provider_transaction_id, z1.amount, key1_signed), 200, -1, false},
      {"zalopay: one mac digit flipped", zp, with_field(z1_body, "mac", flipped(z1_mac)), 200, -1,
       false},
      {"zalopay: mac of another payment's data", zp,
       with_field(z1_body, "mac", field(z2_body, "mac")), 200, -1, false},
      {"zalopay: amount changed after signing", zp,
       zalopay_data_edited(z1_body, "\"amount\":" + std::to_string(z1.amount), "\"amount\":1000"),
       200, -1, false},
      {"zalopay: replayed for another order", zp,
       zalopay_data_edited(z2_body, z2.provider_transaction_id, z1.provider_transaction_id), 200,
       -1, false},
      {"zalopay: upper-case mac", zp, with_field(z1_body, "mac", upper(z1_mac)), 200, -1, false},
      {"zalopay: empty mac", zp, with_field(z1_body, "mac", ""), 200, -1, false},
      {"zalopay: truncated mac", zp, with_field(z1_body, "mac", z1_mac.substr(0, 63)), 200, -1,
       false},
      {"zalopay: mac with a trailing space", zp, with_field(z1_body, "mac", z1_mac + " "), 200, -1,
       false},
      {"zalopay: correctly signed, wrong amount", zp,
       zalopay_callback(z1.provider_transaction_id, 1000), 200, -1, true},
      {"zalopay: correctly signed, another app_id", zp,
       sign_zalopay_callback(zalopay_keys(), other_app), 200, -1, true},
      {"zalopay: sent to the PayOS route", po, z1_body, 400, 0, false},
      {"payos: signed with a wrong key", po,
       payos_webhook(p1.provider_transaction_id, p1.amount, "00", wrong_payos), 401, 0, false},
      {"payos: signed with the API key", po,
       payos_webhook(p1.provider_transaction_id, p1.amount, "00", api_key_signed), 401, 0, false},
      {"payos: one signature digit flipped", po,
       with_field(p1_body, "signature", flipped(p1_signature)), 401, 0, false},
      {"payos: signature of another payment's data", po,
       with_field(p1_body, "signature", field(p2_body, "signature")), 401, 0, false},
      {"payos: amount changed after signing", po,
       [&] {
         json j = json::parse(p1_body);
         j["data"]["amount"] = 1000;
         return j.dump();
       }(),
       401, 0, false},
      {"payos: failure turned into success after signing", po,
       [&] {
         json j = json::parse(signed_callback(p1, true));
         j["data"]["code"] = "00";
         j["data"]["desc"] = "success";
         return j.dump();
       }(),
       401, 0, false},
      {"payos: replayed for another order", po,
       [&] {
         json j = json::parse(p2_body);
         j["data"]["paymentLinkId"] = p1.provider_transaction_id;
         return j.dump();
       }(),
       401, 0, false},
      {"payos: extra field added after signing", po,
       [&] {
         json j = json::parse(p1_body);
         j["data"]["note"] = "x";
         return j.dump();
       }(),
       401, 0, false},
      {"payos: empty signature", po, with_field(p1_body, "signature", ""), 401, 0, false},
      {"payos: truncated signature", po,
       with_field(p1_body, "signature", p1_signature.substr(0, 63)), 401, 0, false},
      {"payos: correctly signed, wrong amount", po, payos_webhook(p1.provider_transaction_id, 1000),
       409, 0, true},
      {"payos: sent to the ZaloPay route", zp, p1_body, 200, -1, false},
  };

  ServeUnderTest serve(tbpay_env(db.url()), folder.path());
  HttpClient conn(serve.port());
  for (std::size_t i = 0; i < forgeries.size(); ++i) {
    const auto& f = forgeries[i];
    auto r = conn.post(f.path, f.body, "X-Request-Id: forgery-" + std::to_string(i) + "\r\n");
    ASSERT_TRUE(r) << f.name << ": " << conn.last_error();
    EXPECT_EQ(status_of(*r), f.status) << f.name << ": " << r->body();
    if (f.path == zp && f.status == 200) {
      EXPECT_EQ(json::parse(r->body()).value("return_code", 99), f.return_code)
          << f.name << ": " << r->body();
    }
  }

  // Nothing changed: every targeted payment is still PENDING, no event was written.
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), 0);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM payments WHERE status <> 'PENDING'"), 0);

  // The log line of each forgery names it by request id; only the mismatches are alerts.
  const auto lines = serve.process().log_lines();
  for (std::size_t i = 0; i < forgeries.size(); ++i) {
    const std::string id = "forgery-" + std::to_string(i);
    int found = 0;
    for (const auto& l : lines) {
      if (l.value("request_id", "") != id) continue;
      ++found;
      EXPECT_EQ(l.value("alert", false), forgeries[i].alert)
          << forgeries[i].name << ": " << l.dump();
      if (forgeries[i].alert) {
        EXPECT_EQ(l.value("level", ""), "error") << l.dump();
      }
    }
    EXPECT_EQ(found, 1) << forgeries[i].name;
  }

  // Genuine callbacks still go through, PayOS signatures in either case.
  auto z3_reply = conn.post(zp, signed_callback(z3));
  ASSERT_TRUE(z3_reply);
  EXPECT_EQ(json::parse(z3_reply->body()).value("return_code", 99), 1) << z3_reply->body();
  auto p3_upper =
      with_field(signed_callback(p3), "signature", upper(field(signed_callback(p3), "signature")));
  auto p3_reply = conn.post(po, p3_upper);
  ASSERT_TRUE(p3_reply);
  EXPECT_EQ(status_of(*p3_reply), 200) << p3_reply->body();
  auto p4_reply = conn.post(po, signed_callback(p4));
  ASSERT_TRUE(p4_reply);
  EXPECT_EQ(status_of(*p4_reply), 200) << p4_reply->body();
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM payments WHERE status = 'COMPLETED'"), 3);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), 3);
  EXPECT_EQ(
      pg_count(
          db.url(),
          R"(SELECT count(*) FROM payments WHERE status = 'PENDING' AND "orderCode" = ANY($1::text[]))",
          {"{" + z1.order_code + "," + z2.order_code + "," + p1.order_code + "," + p2.order_code +
           "}"}),
      4);
  std::printf("forgery: %zu forged or tampered callbacks refused, %d alerts\n", forgeries.size(),
              static_cast<int>(std::count_if(forgeries.begin(), forgeries.end(),
                                             [](const Forgery& f) { return f.alert; })));
}

}  // namespace
}  // namespace tbpay::reliability
