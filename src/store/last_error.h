#pragma once
#include <string>
#include <string_view>

namespace tbpay {

// outbox."lastError" as both stores write it: at most 500 characters (code points), valid
// UTF-8 and no NUL bytes, so that a strange broker message can never make finish() fail.
std::string last_error_text(std::string_view error);

}  // namespace tbpay
