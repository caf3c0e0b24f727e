#pragma once
// Callbacks as ZaloPay and PayOS post them, signed with the project's own sign_* functions:
// the one place the tests build a provider's body. Each suite passes its own keys.
#include <cstdint>
#include <string>

#include "config/config.h"

namespace tbpay::test {

// A ZaloPay payment callback (type 1) of `amount` for `app_trans_id`, its mac made with key2.
std::string signed_zalopay_callback(const ZaloPayKeys& keys, const std::string& app_trans_id,
                                    std::int64_t amount);

// A PayOS webhook of `amount` for `payment_link_id`, signed with the checksum key. Code "00"
// is a payment made, any other a failed one; `desc` as PayOS words it ("success", or "payment
// failed" for another code, when empty).
std::string signed_payos_webhook(const PayOsKeys& keys, const std::string& payment_link_id,
                                 std::int64_t amount, const std::string& code = "00",
                                 const std::string& desc = {});

}  // namespace tbpay::test
