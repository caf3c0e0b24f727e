#include "store/postgres/stores.h"

namespace tbpay::pg {

namespace {

Result<Timestamp> timestamp_at(const Rows& rows, int row, int col) {
  auto t = parse_timestamp(rows.text(row, col));
  if (!t) return internal_error("unreadable timestamp '" + rows.text(row, col) + "'");
  return *t;
}

std::optional<Timestamp> optional_timestamp(const Rows& rows, int row, int col) {
  if (rows.null(row, col)) return std::nullopt;
  return parse_timestamp(rows.text(row, col));
}

}  // namespace

Result<Payment> payment_from(const Rows& rows, int row) {
  Payment p;
  p.id = rows.text(row, 0);
  p.order_code = rows.text(row, 1);
  p.amount_cents = rows.integer(row, 2);
  p.currency = rows.text(row, 3);
  auto provider = parse_provider(rows.text(row, 4));
  if (!provider)
    return internal_error("payment " + p.id + " has unsupported provider " + rows.text(row, 4));
  p.provider = *provider;
  p.provider_transaction_id = rows.text(row, 5);
  p.idempotency_key = rows.text(row, 6);
  p.redirect_url = rows.text(row, 7);
  p.payment_url = rows.text(row, 8);
  auto status = parse_payment_status(rows.text(row, 9));
  if (!status) return internal_error("payment " + p.id + " has unknown status");
  p.status = *status;
  p.metadata = rows.optional_text(row, 10);
  auto created = timestamp_at(rows, row, 11);
  if (!created) return created.error();
  auto updated = timestamp_at(rows, row, 12);
  if (!updated) return updated.error();
  p.created_at = *created;
  p.updated_at = *updated;
  p.completed_at = optional_timestamp(rows, row, 13);
  p.failed_at = optional_timestamp(rows, row, 14);
  p.cancelled_at = optional_timestamp(rows, row, 15);
  return p;
}

Result<OutboxEvent> event_from(const Rows& rows, int row) {
  OutboxEvent e;
  e.id = rows.text(row, 0);
  e.aggregate_id = rows.text(row, 1);
  e.aggregate_type = rows.text(row, 2);
  e.event_type = rows.text(row, 3);
  e.payload = rows.text(row, 4);
  e.published = rows.boolean(row, 5);
  e.published_at = optional_timestamp(rows, row, 6);
  auto created = timestamp_at(rows, row, 7);
  if (!created) return created.error();
  e.created_at = *created;
  e.retry_count = static_cast<int>(rows.integer(row, 8));
  e.last_error = rows.optional_text(row, 9);
  return e;
}

}  // namespace tbpay::pg
