#pragma once
// `POST /webhook` without a provider in the path: tell the provider from the body's shape.
#include <optional>
#include <string_view>

#include "core/payment.h"
#include "providers/provider.h"

namespace tbpay {

// data+mac+type -> ZaloPay; code+desc+data+signature -> PayOS; anything else -> nullopt.
std::optional<Provider> detect_provider(const CallbackBody& body);
// The same for a body not parsed yet.
std::optional<Provider> detect_provider(std::string_view body);

}  // namespace tbpay
