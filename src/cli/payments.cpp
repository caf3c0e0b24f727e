// `tbpay payments create|show`: insert a PENDING payment the way the core service does, and
// look at a payment with its outbox events. For local use, demos and tests.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "context/context.h"
#include "crypto/crypto.h"
#include "providers/zalopay/zalopay.h"

namespace tbpay::cli {

namespace {

using json = nlohmann::ordered_json;  // keys in the order written below

struct CreateOptions {
  std::string provider;
  std::string order_code;
  std::int64_t amount = 0;
  std::string provider_transaction_id;
};

json time_or_null(const std::optional<Timestamp>& t) { return t ? json(to_iso8601(*t)) : json(); }

// Column names as in the database, so the output reads like the row.
json payment_json(const Payment& p) {
  json metadata;
  if (p.metadata) metadata = json::parse(*p.metadata, nullptr, false);
  return {{"id", p.id},
          {"orderCode", p.order_code},
          {"amountCents", p.amount_cents},
          {"currency", p.currency},
          {"provider", std::string(to_string(p.provider))},
          {"providerTransactionId", p.provider_transaction_id},
          {"idempotencyKey", p.idempotency_key},
          {"redirectUrl", p.redirect_url},
          {"paymentUrl", p.payment_url},
          {"status", std::string(to_string(p.status))},
          {"metadata", metadata},
          {"createdAt", to_iso8601(p.created_at)},
          {"updatedAt", to_iso8601(p.updated_at)},
          {"completedAt", time_or_null(p.completed_at)},
          {"failedAt", time_or_null(p.failed_at)},
          {"cancelledAt", time_or_null(p.cancelled_at)}};
}

json event_json(const OutboxEvent& e) {
  return {{"id", e.id},
          {"aggregateId", e.aggregate_id},
          {"aggregateType", e.aggregate_type},
          {"eventType", e.event_type},
          {"payload", json::parse(e.payload, nullptr, false)},
          {"published", e.published},
          {"publishedAt", time_or_null(e.published_at)},
          {"createdAt", to_iso8601(e.created_at)},
          {"retryCount", e.retry_count},
          {"lastError", e.last_error ? json(*e.last_error) : json()}};
}

// What the core service stores when it creates a payment intent with the provider.
NewPayment new_payment(const CreateOptions& opts, Provider provider, Timestamp now) {
  NewPayment n;
  n.id = uuid_v4();
  n.order_code = opts.order_code;
  n.amount_cents = opts.amount;
  n.provider = provider;
  n.provider_transaction_id = opts.provider_transaction_id;
  if (n.provider_transaction_id.empty()) {
    if (provider == Provider::ZaloPay) {
      n.provider_transaction_id = zalopay_app_trans_id(opts.order_code, now);
    } else {
      // A PayOS paymentLinkId: 32 lower-case hex characters.
      for (char c : uuid_v4())
        if (c != '-') n.provider_transaction_id += c;
    }
  }
  n.idempotency_key = uuid_v4();
  n.redirect_url = "http://localhost:3000/checkout/result?orderCode=" + opts.order_code;
  n.payment_url = provider == Provider::ZaloPay
                      ? "https://qcgateway.zalopay.vn/openinapp?order=" + n.provider_transaction_id
                      : "https://pay.payos.vn/web/" + n.provider_transaction_id;
  n.at = now;
  return n;
}

int create(const CreateOptions& opts) {
  const Provider provider = *parse_provider(opts.provider);
  auto ctx = job_context();
  auto created = ctx->db->payments().create(new_payment(opts, provider, now_utc()));
  if (!created) {
    if (created.error().kind == ErrorKind::Conflict)
      return fail("payments create", "a payment with order code " + opts.order_code +
                                         " (or its idempotency key) already exists");
    return fail("payments create", store_error(created.error(), *ctx->db));
  }
  std::cout << payment_json(*created).dump(2) << "\n";
  return 0;
}

int show(const std::string& order_code) {
  auto ctx = job_context();
  auto found = ctx->db->payments().find_by_order_code(order_code);
  if (!found) return fail("payments show", store_error(found.error(), *ctx->db));
  if (!*found) return fail("payments show", "no payment with order code " + order_code);
  auto events = ctx->db->payments().events_for_payment((*found)->id);
  if (!events) return fail("payments show", store_error(events.error(), *ctx->db));
  json out = {{"payment", payment_json(**found)}, {"events", json::array()}};
  for (const auto& e : *events) out["events"].push_back(event_json(e));
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

void add_payments(CLI::App& app, ExitCode& exit) {
  auto* payments = app.add_subcommand("payments", "Create and inspect payments (local use, tests)");
  payments->require_subcommand(1);

  auto opts = std::make_shared<CreateOptions>();
  auto* create_cmd = payments->add_subcommand(
      "create", "Insert a PENDING payment the way the core service does; prints it as JSON");
  create_cmd->add_option("--provider", opts->provider, "zalopay or payos")
      ->required()
      ->check(CLI::IsMember({"zalopay", "payos"}, CLI::ignore_case));
  create_cmd->add_option("--order-code", opts->order_code, "The order's code")->required();
  create_cmd->add_option("--amount", opts->amount, "Amount in VND (amountCents)")
      ->required()
      ->check(vnd_amount());
  create_cmd->add_option("--provider-transaction-id", opts->provider_transaction_id,
                         "ZaloPay app_trans_id (default yymmdd_<order code>, UTC date) or PayOS "
                         "paymentLinkId (default: 32 random hex characters)");
  create_cmd->callback([opts, &exit] { exit.value = create(*opts); });

  auto order_code = std::make_shared<std::string>();
  auto* show_cmd = payments->add_subcommand(
      "show", "Print a payment and its outbox events as JSON; exit 1 if there is no such payment");
  show_cmd->add_option("order_code", *order_code, "The order's code")->required();
  show_cmd->callback([order_code, &exit] { exit.value = show(*order_code); });
}

}  // namespace tbpay::cli
