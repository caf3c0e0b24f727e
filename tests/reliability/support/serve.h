#pragma once
// `tbpay serve` as a child process on a free port, with known provider keys, and the signed
// callbacks a provider would post to it.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "reliability/support/child_process.h"
#include "reliability/support/pg.h"
#include "support/http_client.h"

namespace tbpay::reliability {

// The blocking HTTP client every suite here talks to `tbpay serve` with.
using test::http_once;
using test::HttpClient;
using test::raw_request;
using test::Response;
using test::status_of;

// Test keys: distinctive strings, so that a leak into a log line cannot go unnoticed.
inline constexpr const char* kZaloPayAppId = "2554";
inline constexpr const char* kZaloPayKey1 = "zp-key1-RELIABILITY-5c0ffee1";
inline constexpr const char* kZaloPayKey2 = "zp-key2-RELIABILITY-d15ea5e2";
inline constexpr const char* kPayOsClientId = "payos-client-RELIABILITY";
inline constexpr const char* kPayOsApiKey = "payos-api-RELIABILITY-0b5e55ed";
inline constexpr const char* kPayOsChecksumKey = "payos-checksum-RELIABILITY-7e57ab1e";

ZaloPayKeys zalopay_keys();
PayOsKeys payos_keys();

// The environment of a tbpay process on `database_url` with both providers configured.
std::vector<std::string> tbpay_env(const std::string& database_url,
                                   const std::vector<std::string>& extra = {});

class ServeUnderTest {
 public:
  // Starts `tbpay serve --listen 127.0.0.1:0` (default threads and pool) and waits for its
  // "listening" line.
  ServeUnderTest(const std::vector<std::string>& env, const std::string& folder,
                 const std::string& name = "serve");
  unsigned short port() const { return port_; }
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  unsigned short port_ = 0;
};

// The route a provider posts to.
std::string webhook_path(Provider provider);

// A correctly signed success callback for the payment, as its provider would send it (PayOS:
// `failed` sends code "01", which moves the payment to FAILED). `amount` < 0: the payment's.
std::string signed_callback(const SeededPayment& payment, bool failed = false,
                            std::int64_t amount = -1);
std::string zalopay_callback(const std::string& app_trans_id, std::int64_t amount,
                             const ZaloPayKeys& keys = zalopay_keys());
std::string payos_webhook(const std::string& payment_link_id, std::int64_t amount,
                          const std::string& code = "00", const PayOsKeys& keys = payos_keys());

// What a reply means to the provider that gets it.
enum class ReplyMeaning { Success, Duplicate, Retry, Rejected, Other };
// ZaloPay: HTTP 200 and return_code 1/2/0/-1. PayOS: 200 with error 0 is Success (PayOS's
// reply does not tell processed from duplicate), 503 Retry, 400/401/409 Rejected.
ReplyMeaning meaning_of(Provider provider, int http_status, const std::string& body);

}  // namespace tbpay::reliability
