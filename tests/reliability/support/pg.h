#pragma once
// Plain SQL against PostgreSQL on a fresh connection per call (so it works across a server
// restart), and a throwaway cluster of the test's own that it may stop and start.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/payment.h"

namespace tbpay::reliability {

using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

// Throws std::runtime_error on a connection or SQL error.
std::vector<SqlRow> pg_query(const std::string& url, std::string_view sql,
                             const std::vector<SqlValue>& params = {});
std::int64_t pg_count(const std::string& url, std::string_view sql,
                      const std::vector<SqlValue>& params = {});

// postgresql://user@host:port/x -> postgresql://user@host:port/<database>
std::string with_database(const std::string& url, const std::string& database);

// A PostgreSQL cluster started by scripts/pg-throwaway.sh in a temporary folder: unlike the
// shared TEST_DATABASE_URL server, this one can be stopped and restarted (same port).
class ThrowawayCluster {
 public:
  ThrowawayCluster();  // throws when it cannot start
  ~ThrowawayCluster();
  ThrowawayCluster(const ThrowawayCluster&) = delete;
  ThrowawayCluster& operator=(const ThrowawayCluster&) = delete;

  const std::string& admin_url() const { return url_; }
  void stop();     // fast shutdown: sessions are ended, the port closes
  void restart();  // starts again on the same port
  void freeze();   // SIGSTOP: TCP is still accepted, nothing is answered; stop() thaws first
  void thaw();     // SIGCONT

 private:
  std::string folder_;
  std::string url_;
};

// A payment as the core service inserts it.
struct SeededPayment {
  std::string order_code;
  Provider provider = Provider::ZaloPay;
  std::string provider_transaction_id;  // ZaloPay "251213_<order code>"; PayOS 32 hex digits
  std::int64_t amount = 0;
};

// `count` PENDING payments named <prefix>1..<prefix>count, ZaloPay and PayOS alternating,
// inserted in one statement; returned in that order.
std::vector<SeededPayment> seed_payments(const std::string& url, const std::string& prefix,
                                         int count);

}  // namespace tbpay::reliability
