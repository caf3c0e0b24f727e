#include "app/lookup_index.h"

#include "context/context.h"

namespace tbpay {

std::optional<std::string> alert_if_payos_lookup_unindexed(Context& ctx) {
  auto index = ctx.db->schema().provider_transaction_index();
  if (!index) {
    ctx.log.warn("cannot check the payments indexes at start-up",
                 {{"database", ctx.db->describe()}, {"error", index.error().message}});
    return std::nullopt;
  }
  if (!*index) {
    ctx.log.error(std::string("no index serves payments lookups by providerTransactionId: "
                              "every PayOS webhook reads the whole payments table; run `") +
                      kLookupIndexFix + "`",
                  {{"alert", true},
                   {"column", "providerTransactionId"},
                   {"fix", kLookupIndexFix},
                   {"database", ctx.db->describe()}});
  }
  return *index;
}

}  // namespace tbpay
