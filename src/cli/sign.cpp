// `tbpay sign zalopay|payos`: prints a correctly signed callback body for a payment, using the
// configured keys, ready for `curl -d @-`. For local use, demos and manual testing.
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "context/context.h"
#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"

namespace tbpay::cli {

namespace {

struct SignOptions {
  std::string provider;
  std::string order_code;
  std::optional<std::int64_t> amount;
  std::string status = "success";
  std::string transaction_id;
};

int fail(const std::string& message, int code = kFailed) {
  return cli::fail("sign", message, code);
}

// The payment the callback is for, if the database has it: its transaction id and amount
// make the signed body match. An unreachable database only costs those defaults.
std::optional<Payment> find_payment(Context& ctx, const std::string& order_code) {
  auto found = ctx.db->payments().find_by_order_code(order_code);
  if (!found) {
    std::cerr << "tbpay sign: warning: could not look the payment up ("
              << store_error(found.error(), *ctx.db) << "); using defaults\n";
    return std::nullopt;
  }
  return std::move(found).value();
}

int sign(const SignOptions& opts) {
  const Provider provider = *parse_provider(opts.provider);
  const auto ctx = job_context();

  if (provider == Provider::ZaloPay && !ctx->config.zalopay.configured())
    return fail("ZaloPay keys are not configured: set ZALOPAY_APP_ID and ZALOPAY_KEY2", kBadSetup);
  if (provider == Provider::PayOS && !ctx->config.payos.configured())
    return fail("PayOS keys are not configured: set PAYOS_CHECKSUM_KEY", kBadSetup);
  if (provider == Provider::ZaloPay && opts.status == "failed")
    return fail("ZaloPay only calls back for successful payments: there is no failed callback",
                kBadSetup);

  const auto payment = find_payment(*ctx, opts.order_code);
  if (payment && payment->provider != provider && opts.transaction_id.empty())
    return fail(
        "payment " + opts.order_code + " is a " + std::string(to_string(payment->provider)) +
        " payment; pass --transaction-id to sign it as " + std::string(to_string(provider)));

  std::string transaction_id = opts.transaction_id;
  if (transaction_id.empty() && payment) transaction_id = payment->provider_transaction_id;
  if (transaction_id.empty()) {
    if (provider == Provider::PayOS)
      return fail("no payment " + opts.order_code +
                      " in the database: pass --transaction-id (the PayOS paymentLinkId)",
                  kBadSetup);
    transaction_id = zalopay_app_trans_id(opts.order_code, now_utc());
  }

  std::int64_t amount = 0;
  if (opts.amount)
    amount = *opts.amount;
  else if (payment)
    amount = payment->amount_cents;
  else
    return fail("no payment " + opts.order_code + " in the database: pass --amount", kBadSetup);

  try {
    if (provider == Provider::ZaloPay) {
      std::cout << sign_zalopay_callback(ctx->config.zalopay, transaction_id, amount) << "\n";
    } else {
      PayOsWebhookData data;
      data.payment_link_id = transaction_id;
      data.order_code = opts.order_code;
      data.amount = amount;
      if (opts.status == "failed") {
        data.code = "01";
        data.desc = "payment failed";
      }
      std::cout << sign_payos_webhook(ctx->config.payos, data) << "\n";
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("cannot encode the callback: ") + e.what(),
                kBadSetup);  // e.g. not UTF-8
  }
  return 0;
}

}  // namespace

void add_sign(CLI::App& app, ExitCode& exit) {
  auto opts = std::make_shared<SignOptions>();
  auto* cmd = app.add_subcommand(
      "sign", "Print a correctly signed callback body for a payment, ready for curl");
  cmd->add_option("provider", opts->provider, "zalopay or payos")
      ->required()
      ->check(CLI::IsMember({"zalopay", "payos"}));
  cmd->add_option("--order-code", opts->order_code, "The payment's order code")->required();
  cmd->add_option("--amount", opts->amount,
                  "Amount in the callback (default: the payment's amountCents)")
      ->check(vnd_amount());
  cmd->add_option("--status", opts->status, "success, or failed (PayOS only)")
      ->check(CLI::IsMember({"success", "failed"}))
      ->capture_default_str();
  cmd->add_option("--transaction-id", opts->transaction_id,
                  "ZaloPay app_trans_id or PayOS paymentLinkId (default: the payment's "
                  "providerTransactionId; ZaloPay falls back to yymmdd_<order code>)");
  cmd->callback([opts, &exit] { exit.value = sign(*opts); });
}

}  // namespace tbpay::cli
