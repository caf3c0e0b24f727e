#pragma once
// What the provider adapters share about HTTP answers to status queries. Internal to providers/.
#include <charconv>
#include <stdexcept>
#include <string>
#include <string_view>

#include "providers/http/api_client.h"
#include "providers/provider.h"

namespace tbpay::providers {

// The base URL a variable names; a bad one stops start-up with a message naming it.
inline ApiUrl api_url_or_throw(std::string_view variable, std::string_view url) {
  auto parsed = parse_api_url(url);
  if (!parsed) throw std::invalid_argument(std::string(variable) + ": " + parsed.error());
  return std::move(parsed).value();
}

// Retry-After in seconds (the HTTP-date form is taken as one second: ask again soon, not now).
inline std::chrono::milliseconds retry_after(const std::string& value) {
  long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) seconds = 1;
  return std::chrono::seconds(seconds);
}

// True when `sent` is a 2xx answer worth parsing; otherwise fills `answer` (Unavailable) with
// why not: the transport failure, 429 with its Retry-After, another HTTP status.
inline bool usable_answer(const Result<ApiResponse, ApiFailure>& sent, StatusAnswer& answer) {
  answer.kind = StatusAnswer::Kind::Unavailable;
  if (!sent) {
    answer.detail = sent.error().message;
    return false;
  }
  if (sent->status == 429) {
    answer.retry_after = retry_after(sent->retry_after.value_or("1"));
    answer.detail = "HTTP 429 (rate limited)";
    return false;
  }
  if (sent->status < 200 || sent->status > 299) {
    answer.detail = "HTTP " + std::to_string(sent->status);
    return false;
  }
  return true;
}

}  // namespace tbpay::providers
