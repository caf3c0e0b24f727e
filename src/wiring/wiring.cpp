#include "wiring/wiring.h"

#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"
#include "publish/open.h"
#include "store/open.h"

namespace tbpay {

std::unique_ptr<Context> make_context(Config config, Logger log) {
  auto db = open_database(config);
  std::unique_ptr<PaymentProvider> zalopay, payos;
  try {  // a bad ZALOPAY_API_URL / PAYOS_API_URL
    zalopay = make_zalopay(config.zalopay);
    payos = make_payos(config.payos);
  } catch (const std::invalid_argument& e) {
    throw StartupError(e.what());
  }
  return std::make_unique<Context>(std::move(config), std::move(log), std::move(db),
                                   std::move(zalopay), std::move(payos), &open_publisher);
}

std::unique_ptr<Context> make_context(Config config) {
  Logger log(parse_log_level(config.log_level));
  return make_context(std::move(config), std::move(log));
}

std::unique_ptr<Context> make_context_from_env() {
  auto config = load_config(process_env());
  if (!config) throw StartupError(config.error());
  return make_context(std::move(config).value());
}

}  // namespace tbpay
