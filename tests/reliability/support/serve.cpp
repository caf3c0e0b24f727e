#include "reliability/support/serve.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/signed_callbacks.h"

namespace tbpay::reliability {

ZaloPayKeys zalopay_keys() { return {kZaloPayAppId, kZaloPayKey1, kZaloPayKey2}; }
PayOsKeys payos_keys() { return {kPayOsClientId, kPayOsApiKey, kPayOsChecksumKey}; }

std::vector<std::string> tbpay_env(const std::string& database_url,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> env{"PATH=/usr/bin:/bin",
                               "DATABASE_URL=" + database_url,
                               "LOG_LEVEL=info",
                               std::string("ZALOPAY_APP_ID=") + kZaloPayAppId,
                               std::string("ZALOPAY_KEY1=") + kZaloPayKey1,
                               std::string("ZALOPAY_KEY2=") + kZaloPayKey2,
                               std::string("PAYOS_CLIENT_ID=") + kPayOsClientId,
                               std::string("PAYOS_API_KEY=") + kPayOsApiKey,
                               std::string("PAYOS_CHECKSUM_KEY=") + kPayOsChecksumKey};
  // Sanitizer builds: keep their settings (and reports) in the child.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(name)) env.push_back(std::string(name) + "=" + v);
  for (const auto& e : extra) {
    const auto name = e.substr(0, e.find('=') + 1);
    std::erase_if(env, [&](const std::string& x) { return x.rfind(name, 0) == 0; });
    env.push_back(e);
  }
  return env;
}

ServeUnderTest::ServeUnderTest(const std::vector<std::string>& env, const std::string& folder,
                               const std::string& name) {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"}, env, folder, name);
  auto listening = process_->wait_for_log("listening", 60s);
  if (!listening)
    throw std::runtime_error("tbpay serve did not say it was listening; stderr: " +
                             process_->stderr_text() + " stdout: " + process_->stdout_text());
  const std::string address = (*listening)["address"];
  port_ = static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
}

std::string webhook_path(Provider provider) {
  return provider == Provider::ZaloPay ? "/webhook/zalopay" : "/webhook/payos";
}

std::string zalopay_callback(const std::string& app_trans_id, std::int64_t amount,
                             const ZaloPayKeys& keys) {
  return test::signed_zalopay_callback(keys, app_trans_id, amount);
}

std::string payos_webhook(const std::string& payment_link_id, std::int64_t amount,
                          const std::string& code, const PayOsKeys& keys) {
  return test::signed_payos_webhook(keys, payment_link_id, amount, code);
}

std::string signed_callback(const SeededPayment& payment, bool failed, std::int64_t amount) {
  const std::int64_t a = amount < 0 ? payment.amount : amount;
  if (payment.provider == Provider::ZaloPay)
    return zalopay_callback(payment.provider_transaction_id, a);
  return payos_webhook(payment.provider_transaction_id, a, failed ? "01" : "00");
}

ReplyMeaning meaning_of(Provider provider, int http_status, const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (provider == Provider::ZaloPay) {
    if (http_status != 200 || !j.is_object() || !j.contains("return_code") ||
        !j["return_code"].is_number_integer())
      return http_status == 400 ? ReplyMeaning::Rejected : ReplyMeaning::Other;
    switch (j["return_code"].get<int>()) {
      case 1:
        return ReplyMeaning::Success;
      case 2:
        return ReplyMeaning::Duplicate;
      case 0:
        return ReplyMeaning::Retry;
      case -1:
        return ReplyMeaning::Rejected;
      default:
        return ReplyMeaning::Other;
    }
  }
  if (http_status == 200 && j.is_object() && j.contains("error") && j["error"] == 0)
    return ReplyMeaning::Success;
  if (http_status == 503) return ReplyMeaning::Retry;
  if (http_status == 400 || http_status == 401 || http_status == 409) return ReplyMeaning::Rejected;
  return ReplyMeaning::Other;
}

}  // namespace tbpay::reliability
