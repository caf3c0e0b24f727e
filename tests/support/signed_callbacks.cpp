#include "support/signed_callbacks.h"

#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"

namespace tbpay::test {

std::string signed_zalopay_callback(const ZaloPayKeys& keys, const std::string& app_trans_id,
                                    std::int64_t amount) {
  return sign_zalopay_callback(keys, app_trans_id, amount, 240000000 + amount);
}

std::string signed_payos_webhook(const PayOsKeys& keys, const std::string& payment_link_id,
                                 std::int64_t amount, const std::string& code,
                                 const std::string& desc) {
  PayOsWebhookData data;
  data.payment_link_id = payment_link_id;
  data.order_code = std::to_string(amount);
  data.amount = amount;
  data.code = code;
  data.desc = !desc.empty() ? desc : code == "00" ? "success" : "payment failed";
  data.description = "TB thanh toan";
  data.reference = "FT2512" + std::to_string(amount);
  data.transaction_date_time = "2025-12-13 13:05:18";
  return sign_payos_webhook(keys, data);
}

}  // namespace tbpay::test
