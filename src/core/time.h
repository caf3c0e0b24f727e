#pragma once
// Timestamps are UTC wall-clock milliseconds, as the database stores them
// (TIMESTAMP(3) without time zone) and as events carry them (ISO 8601, "Z").
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tbpay {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

Timestamp now_utc();

// "2025-12-13T06:05:18.385Z"
std::string to_iso8601(Timestamp t);
// "2025-12-13 06:05:18.385", the text form both databases accept for TIMESTAMP(3)
std::string to_sql_timestamp(Timestamp t);
// Accepts both forms above, with or without milliseconds and the trailing "Z".
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace tbpay
