#pragma once
// The outbox states of core/outbox_event.h (outbox_state()) as PostgreSQL predicates over one
// row of outbox, $1 the maximum retries: every outbox statement tests a row through these.
// tests/store/outbox_store_test.cpp holds what the statements do to outbox_state().
#include "store/sql_text.h"

namespace tbpay::pg {

// `published = false` is the form the ("published", "createdAt") index serves.
inline constexpr SqlText kPendingRow =
    R"(published = false AND "publishedAt" IS NULL AND "retryCount" < $1::integer)";
inline constexpr SqlText kDeadRow =
    R"(published = false AND "publishedAt" IS NULL AND "retryCount" >= $1::integer)";
inline constexpr SqlText kPublishedRow = R"((published OR "publishedAt" IS NOT NULL))";

// kPendingRow with its flag tested in a form that index cannot serve (the column is NOT NULL,
// so the two agree): the claim's locking scan then fetches its rows by their addresses.
inline constexpr SqlText kPendingRowByAddress =
    R"(published IS NOT TRUE AND "publishedAt" IS NULL AND "retryCount" < $1::integer)";

}  // namespace tbpay::pg
