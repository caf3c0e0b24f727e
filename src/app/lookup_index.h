#pragma once
// The start-up check of `serve` and of every Lambda function: can PayOS webhooks find their
// payment without reading the whole payments table?
#include <optional>
#include <string>

#include "core/result.h"

namespace tbpay {

struct Context;

// What fixes a missing lookup index, as the alert line and `tbpay doctor` say it.
inline constexpr const char* kLookupIndexFix = "tbpay migrate --lookup-index";

// PayOS webhooks are matched by paymentLinkId ("providerTransactionId") only. When no index
// serves that lookup, logs one error line with "alert": true naming the column and the command
// that creates one; returns the index found, or nullopt. A database that cannot be asked now
// is not fatal here (a warning; requests then report it).
std::optional<std::string> alert_if_payos_lookup_unindexed(Context& ctx);

}  // namespace tbpay
