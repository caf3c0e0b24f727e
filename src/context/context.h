#pragma once
// The process-lifetime resources, built once at start-up and passed down (no singletons). It
// holds the ports only; which adapters stand behind them is chosen by the composition root,
// make_context() in wiring/wiring.h, on the runtimes' side.
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "observability/log.h"
#include "providers/provider.h"
#include "publish/publisher.h"
#include "store/store.h"

namespace tbpay {

// Opens the event publisher the configuration names (wiring's open_publisher).
using PublisherFactory =
    std::function<std::unique_ptr<EventPublisher>(const Config&, const Logger&)>;

struct Context {
  Context(Config c, Logger l, std::unique_ptr<Database> d, std::unique_ptr<PaymentProvider> z,
          std::unique_ptr<PaymentProvider> p, PublisherFactory open_publisher)
      : config(std::move(c)),
        log(std::move(l)),
        db(std::move(d)),
        zalopay(std::move(z)),
        payos(std::move(p)),
        open_publisher_(std::move(open_publisher)) {}

  Config config;
  Logger log;
  std::unique_ptr<Database> db;  // connects lazily: an unreachable database is not fatal here
  std::unique_ptr<PaymentProvider> zalopay;
  std::unique_ptr<PaymentProvider> payos;

  // Created on first use (the webhook path never needs it).
  EventPublisher& publisher();

  const PaymentProvider& provider(Provider p) const { return p == Provider::ZaloPay ? *zalopay : *payos; }

 private:
  PublisherFactory open_publisher_;
  std::unique_ptr<EventPublisher> publisher_;
};

}  // namespace tbpay
