#pragma once
// PayOS webhooks (docs/providers.md, "PayOS"): the signature over the canonical form of
// `data`, and the {"error", "message", "data"} replies PayOS expects.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "providers/provider.h"

namespace tbpay {

std::unique_ptr<PaymentProvider> make_payos(const PayOsKeys& keys);

// The string PayOS signs: `data`'s keys sorted by byte order, `key=value` joined by '&'.
// Strings raw; numbers as JavaScript prints them (3000, 3000.5, 1e+21); true/false;
// null empty; arrays and objects as JSON text with sorted keys. `data` must be an object.
std::string payos_canonical_data(const nlohmann::json& data);

// A number as JavaScript's Number.prototype.toString prints it.
std::string js_number_text(double value);

// The fields of a webhook's `data` (the ones we read, and the ones PayOS always sends).
struct PayOsWebhookData {
  std::string payment_link_id;
  std::string order_code;  // sent as a JSON number when it is one, as PayOS does
  std::int64_t amount = 0;
  std::string code = "00";  // "00": paid; anything else: failed
  std::string desc = "success";
  std::string description;
  std::string account_number = "12345678";
  std::string reference;
  std::string transaction_date_time;  // "2025-12-13 13:05:18"
  std::string currency = "VND";
};

// A complete webhook body {"code", "desc", "success", "data", "signature"} signed with
// keys.checksum_key. For the CLI `sign` command, tests and benchmarks.
std::string sign_payos_webhook(const PayOsKeys& keys, const PayOsWebhookData& data);

}  // namespace tbpay
