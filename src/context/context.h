#pragma once
// The process-lifetime resources, built once at start-up and passed down (no singletons).
#include <memory>
#include <string>

#include "config/config.h"
#include "observability/log.h"
#include "providers/provider.h"
#include "publish/publisher.h"
#include "store/store.h"

namespace tbpay {

struct Context {
  Context(Config c, Logger l, std::unique_ptr<Database> d, std::unique_ptr<PaymentProvider> z,
          std::unique_ptr<PaymentProvider> p)
      : config(std::move(c)), log(std::move(l)), db(std::move(d)), zalopay(std::move(z)),
        payos(std::move(p)) {}

  Config config;
  Logger log;
  std::unique_ptr<Database> db;  // connects lazily: an unreachable database is not fatal here
  std::unique_ptr<PaymentProvider> zalopay;
  std::unique_ptr<PaymentProvider> payos;

  // Created on first use (the webhook path never needs it).
  EventPublisher& publisher();

  const PaymentProvider& provider(Provider p) const { return p == Provider::ZaloPay ? *zalopay : *payos; }

 private:
  std::unique_ptr<EventPublisher> publisher_;
};

// Thrown for start-up failures (bad configuration): the runtimes print it and exit non-zero.
struct StartupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::unique_ptr<Context> make_context(Config config);
// Reads the process environment; throws StartupError naming the bad variable.
std::unique_ptr<Context> make_context_from_env();

}  // namespace tbpay
