// Signs one callback per seeded payment, for wrk (bench/webhook.lua) to post.
//
//   psql -At -F'|' -c 'SELECT provider, "providerTransactionId", "orderCode", "amountCents" ...'
//   piped into: signed_callbacks --seed 20251213 > callbacks.tsv
//
// Input: one payment per line, `PROVIDER|providerTransactionId|orderCode|amountCents`.
// Output: one request per line, `PATH<TAB>BODY` (bodies are compact JSON: no tab, no newline).
// Keys come from the same environment `tbpay serve` reads (ZALOPAY_APP_ID, ZALOPAY_KEY2,
// PAYOS_CHECKSUM_KEY), through the project's own sign_* helpers. Every field the helpers would
// otherwise take from the clock is derived from the seed and the line number, so the same input
// and seed give the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/payment.h"
#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"

namespace {

std::vector<std::string> split(std::string_view line, char sep) {
  std::vector<std::string> out;
  for (;;) {
    const auto at = line.find(sep);
    out.emplace_back(line.substr(0, at));
    if (at == std::string_view::npos) return out;
    line.remove_prefix(at + 1);
  }
}

int usage() {
  std::fprintf(stderr, "usage: signed_callbacks [--seed N] < payments.psv > callbacks.tsv\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t seed = 20251213;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--seed" && i + 1 < argc)
      seed = std::strtoll(argv[++i], nullptr, 10);
    else
      return usage();
  }
  auto config = tbpay::load_config(tbpay::process_env());
  if (!config) {
    std::fprintf(stderr, "signed_callbacks: %s\n", config.error().c_str());
    return 2;
  }
  if (!config->zalopay.configured() || !config->payos.configured()) {
    std::fprintf(stderr,
                 "signed_callbacks: set ZALOPAY_APP_ID, ZALOPAY_KEY2 and PAYOS_CHECKSUM_KEY\n");
    return 2;
  }

  // 2025-12-13T06:00:00Z, moved by the seed so that two seeds never sign the same bytes.
  const std::int64_t base_ms = 1765605600000 + (seed % 86400) * 1000;
  std::ios::sync_with_stdio(false);
  std::string line;
  std::int64_t n = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const auto f = split(line, '|');
    const auto provider = f.size() == 4 ? tbpay::parse_provider(f[0]) : std::nullopt;
    if (!provider) {
      std::fprintf(stderr, "signed_callbacks: line %lld is not PROVIDER|TX|ORDER|AMOUNT\n",
                   static_cast<long long>(n + 1));
      return 1;
    }
    const std::int64_t amount = std::strtoll(f[3].c_str(), nullptr, 10);
    ++n;
    if (*provider == tbpay::Provider::ZaloPay) {
      tbpay::ZaloPayCallbackData d;
      d.app_trans_id = f[1];
      d.amount = amount;
      d.app_time = base_ms + n * 37;
      d.server_time = d.app_time + 1500;
      d.zp_trans_id = 251213000000000 + seed % 1000 * 1000000 + n;
      d.merchant_user_id = "bench";
      std::cout << "/webhook/zalopay\t" << tbpay::sign_zalopay_callback(config->zalopay, d) << '\n';
    } else {
      tbpay::PayOsWebhookData d;
      d.payment_link_id = f[1];
      d.order_code = std::to_string(100000 + n);  // PayOS's own numeric order code
      d.amount = amount;
      d.description = f[2];
      d.reference = "FT" + std::to_string(25347000000000 + n);
      d.transaction_date_time = "2025-12-13 13:05:18";
      std::cout << "/webhook/payos\t" << tbpay::sign_payos_webhook(config->payos, d) << '\n';
    }
  }
  std::cout.flush();
  if (!std::cout) {
    std::fprintf(stderr, "signed_callbacks: write failed\n");
    return 1;
  }
  std::fprintf(stderr, "signed_callbacks: %lld callbacks\n", static_cast<long long>(n));
  return 0;
}
