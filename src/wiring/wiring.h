#pragma once
// The composition root: the one place that chooses and opens the adapters behind the ports
// (PostgreSQL or SQLite, Kafka or a JSON-lines file, the ZaloPay and PayOS clients). The
// runtimes call it at start-up; the application only ever sees the Context it returns.
#include <memory>
#include <stdexcept>

#include "context/context.h"

namespace tbpay {

// Thrown for start-up failures (bad configuration): the runtimes print it and exit non-zero.
struct StartupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The database (not connected yet), both providers, and the publisher on first use.
std::unique_ptr<Context> make_context(Config config, Logger log);
// With a logger at config.log_level, on stdout.
std::unique_ptr<Context> make_context(Config config);
// Reads the process environment; throws StartupError naming the bad variable.
std::unique_ptr<Context> make_context_from_env();

}  // namespace tbpay
