#pragma once
// ZaloPay callbacks (docs/providers.md, "ZaloPay"): MAC verification of `data` with key2,
// and the {"return_code", "return_message"} replies ZaloPay expects.
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/time.h"
#include "providers/provider.h"

namespace tbpay {

std::unique_ptr<PaymentProvider> make_zalopay(const ZaloPayKeys& keys);

// The app_trans_id a merchant gives a ZaloPay order: `yymmdd_<order code>`, the date in UTC.
std::string zalopay_app_trans_id(std::string_view order_code, Timestamp at);

// The fields ZaloPay puts in a callback's `data` (the ones we read, and the ones it always
// sends so that a signed body looks like the real thing).
struct ZaloPayCallbackData {
  std::string app_id;  // empty: the configured ZALOPAY_APP_ID
  std::string app_trans_id;
  std::int64_t app_time = 0;  // milliseconds since the epoch
  std::string app_user = "tbpay";
  std::int64_t amount = 0;
  std::string embed_data = "{}";
  std::string item = "[]";
  std::int64_t zp_trans_id = 0;
  std::int64_t server_time = 0;  // milliseconds since the epoch
  int channel = 38;
  std::string merchant_user_id;
  std::int64_t user_fee_amount = 0;
  std::int64_t discount_amount = 0;
};

// A complete callback body {"data": "<JSON text>", "mac": "<hex>", "type": 1}, signed with
// keys.key2, as ZaloPay would post it. For the CLI `sign` command, tests and benchmarks.
std::string sign_zalopay_callback(const ZaloPayKeys& keys, const ZaloPayCallbackData& data);

// The same for the common case: only the transaction and the amount matter.
std::string sign_zalopay_callback(const ZaloPayKeys& keys, std::string_view app_trans_id,
                                  std::int64_t amount, std::int64_t zp_trans_id = 0);

}  // namespace tbpay
