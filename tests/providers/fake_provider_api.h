#pragma once
// Fake ZaloPay and PayOS status APIs on 127.0.0.1 (plain HTTP, or TLS with a certificate the
// test makes), built from the providers' public documentation:
//   ZaloPay  POST /v2/query, form app_id, app_trans_id, mac = HMAC-SHA256(key1,
//            "app_id|app_trans_id|key1"); answers {return_code, return_message, is_processing,
//            amount, zp_trans_id}.
//   PayOS    GET /v2/payment-requests/{paymentLinkId} with x-client-id and x-api-key; answers
//            {code, desc, data, signature}, `data` signed with the checksum key like a webhook.
// A request whose mac or API key is wrong is refused as the provider refuses it (ZaloPay: HTTP
// 200, return_code 2, sub_return_code -402; PayOS: HTTP 401) and is counted in bad_auth().
// One server answers both, so both base URLs may point at it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"

namespace tbpay::test {

// What the fake says about one transaction (app_trans_id or paymentLinkId).
struct FakeAnswer {
  enum class Kind {
    Pending,       // ZaloPay return_code 3; PayOS PENDING
    Processing,    // ZaloPay return_code 1 with is_processing; PayOS PROCESSING
    Paid,          // ZaloPay 1; PayOS PAID
    Failed,        // ZaloPay 2; PayOS status `payos_status` (CANCELLED, EXPIRED, FAILED)
    Underpaid,     // PayOS UNDERPAID
    TooMany,       // HTTP 429 with Retry-After: retry_after_s (then `then`, if set)
    ServerError,   // HTTP 502
    Malformed,     // HTTP 200 with a body that is not JSON
    BadSignature,  // PayOS: PAID, signed with another key
    NoSignature,   // PayOS: PAID, no signature field
    Hang,          // no answer for `hang` (longer than the client's timeout)
  };
  Kind kind = Kind::Pending;
  std::int64_t amount = 150000;        // the amount the provider holds
  std::string reference = "FT-REF-1";  // zp_trans_id / PayOS transaction reference
  std::string payos_status = "CANCELLED";
  std::string reason = "customer cancelled";
  int retry_after_s = 1;
  std::chrono::milliseconds hang{7000};
  std::shared_ptr<FakeAnswer> then;  // after a TooMany: the next answers
};

class FakeProviderApi {
 public:
  struct Options {
    ZaloPayKeys zalopay;
    PayOsKeys payos;
    std::string cert_file, key_file;       // both set: TLS
    std::chrono::milliseconds latency{0};  // every answer waits this long
  };
  explicit FakeProviderApi(Options options);
  ~FakeProviderApi();
  FakeProviderApi(const FakeProviderApi&) = delete;
  FakeProviderApi& operator=(const FakeProviderApi&) = delete;

  // "http://127.0.0.1:PORT" or "https://HOST:PORT" (host as given: "localhost", "127.0.0.1").
  std::string url(const std::string& host = "127.0.0.1") const;

  void set(const std::string& transaction_id, FakeAnswer answer);
  void set_default(FakeAnswer answer);  // for transactions not set (Pending unless given)

  int requests() const { return requests_.load(); }
  int bad_auth() const { return bad_auth_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }
  // When each request for `transaction_id` arrived, in order.
  std::vector<std::chrono::steady_clock::time_point> arrivals(
      const std::string& transaction_id) const;
  // Arrival times of every request, in order.
  std::vector<std::chrono::steady_clock::time_point> all_arrivals() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> requests_{0}, bad_auth_{0}, in_flight_{0}, max_in_flight_{0};
  friend struct Impl;
};

// A CA and a server certificate for `localhost` and 127.0.0.1, made with the openssl command in
// `folder`: ca.pem, server.pem, server.key. Throws when openssl fails.
struct TestCertificates {
  std::string ca_file, cert_file, key_file;
};
TestCertificates make_test_certificates(const std::string& folder);

}  // namespace tbpay::test
