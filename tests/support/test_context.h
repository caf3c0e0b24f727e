#pragma once
// A Context (context/context.h) on a test database, opened by the wiring as the runtimes open
// theirs. Header-only so that tbpay_test_support does not drag the publishers and providers
// into store tests; a test that uses it links tbpay_wiring.
#include <memory>

#include "support/test_database.h"
#include "wiring/wiring.h"

namespace tbpay::test {

// `config` as given, with DATABASE_URL pointing at `db`.
inline std::unique_ptr<Context> make_test_context(const TestDatabase& db, Config config = {}) {
  config.database_url = db.url();
  return make_context(std::move(config));
}

}  // namespace tbpay::test
