#include "core/time.h"

#include <cstdio>

namespace tbpay {

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

namespace {
std::string format(Timestamp t, char sep, bool zulu) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u%c%02ld:%02ld:%02ld.%03ld%s", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), sep, long(hms.hours().count()),
                long(hms.minutes().count()), long(hms.seconds().count()),
                long(hms.subseconds().count()), zulu ? "Z" : "");
  return buf;
}
}  // namespace

std::string to_iso8601(Timestamp t) { return format(t, 'T', true); }
std::string to_sql_timestamp(Timestamp t) { return format(t, ' ', false); }

std::optional<Timestamp> parse_timestamp(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
    return std::nullopt;
  std::string_view rest = s.substr(static_cast<size_t>(n));
  long ms = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits < 3) ms = ms * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (rest == "Z" || rest == "+00" || rest == "+00:00") rest = {};
  if (!rest.empty()) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month(unsigned(mo)),
                                        std::chrono::day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return Timestamp{std::chrono::sys_days{ymd}} + std::chrono::hours{h} + std::chrono::minutes{mi} +
         std::chrono::seconds{sec} + std::chrono::milliseconds{ms};
}

}  // namespace tbpay
