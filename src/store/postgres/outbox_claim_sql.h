#pragma once
// The outbox claim statement, in a header of its own so that a test can ask PostgreSQL for
// its plan (tests/store/outbox_claim_plan_test.cpp).
#include "store/postgres/outbox_state_sql.h"

namespace tbpay::pg {

// Parameters: $1 max retries, $2 window size, $3 excluded ids (text[]), $4 batch limit, $5 the
// createdAt the walk starts at ('-infinity': the oldest entry; ClaimOptions::created_from).
// Claiming keeps each payment's events in createdAt order with any number of relays:
//  cut         the createdAt of the window's newest event: the window is every pending event
//              created no later than the oldest $2 pending ones (ties included), so an event
//              in it has every earlier pending event of its payment in it too. $2 is 4 x limit
//              plus the excluded ids, so that rows other relays hold or this run excluded do
//              not starve the batch;
//  firsts      the earliest pending event of each payment in the window;
//  candidates  the oldest 2 x limit of those, less the excluded ids (an excluded first event
//              still holds back its payment's later events);
//  then those rows are locked, skipping rows another relay holds. Each row's address is
//  returned with it (the last column): a locked row stays where it is until the claim's
//  transaction ends, so the claim marks it published by that address. A payment whose first
//  event is held elsewhere (or excluded, or published meanwhile) contributes nothing: its
//  later events are never taken while an earlier one is in flight. The pending test is
//  repeated on the locked row: with READ COMMITTED, PostgreSQL re-evaluates it on the
//  latest version, so an event another relay published after our snapshot is dropped.
// Dead events (retryCount >= max) do not hold back their payment's later events.
//
// The plan must not depend on fresh statistics. The normal state of the table is "everything
// published", and an ANALYZE that saw it makes the planner expect about one pending row; one
// that saw a small backlog makes it expect a small one. Either way a burst was then claimed by
// plans that read the whole backlog for every batch (20,000 pending events: 350 ms a claim).
// So every step is an ordered index scan bounded by the window:
//  - the cut walks the ("published", "createdAt") index in order and stops after $2 rows;
//  - firsts reads that index for createdAt <= cut;
//  - the locking scan fetches the candidates by the address (ctid) firsts read them at, half
//    the buffers of a primary-key lookup each, and tests kPendingRowByAddress
//    (`published IS NOT TRUE`), which that index cannot serve. A row another relay updated
//    after this statement's snapshot (published it, or counted a failed try) has its new
//    version at another address: PostgreSQL's re-check of a locked row's address drops it,
//    and it is left for a later claim, as a row another relay holds is;
// and kClaimBegin opens the claim's transaction turning off the two plans that read everything
// and sort or filter afterwards (SET LOCAL: that transaction only). About 4 ms a claim of 500 at
// any backlog; tests/store/outbox_claim_plan_test.cpp asks PostgreSQL for the plan.
inline constexpr const char* kClaimBegin =
    "BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";

// clang-format off
inline constexpr auto kClaimText = R"sql(
WITH cut AS (
    SELECT max("createdAt") AS at
      FROM (SELECT "createdAt"
              FROM outbox
             WHERE )sql" + kPendingRow + R"sql(
               AND "createdAt" >= $5::timestamp(3)
             ORDER BY "createdAt"
             LIMIT $2::integer) oldest
),
firsts AS (
    SELECT DISTINCT ON ("aggregateId") id, ctid, "createdAt"
      FROM outbox
     WHERE )sql" + kPendingRow + R"sql(
       AND "createdAt" >= $5::timestamp(3) AND "createdAt" <= (SELECT at FROM cut)
     ORDER BY "aggregateId", "createdAt", id
),
candidates AS (
    SELECT ctid
      FROM firsts
     WHERE id <> ALL ($3::text[])
     ORDER BY "createdAt", id
     LIMIT 2 * $4::integer
)
SELECT o.id, o."aggregateId", o."aggregateType", o."eventType", o.payload::text, o.published,
       o."publishedAt", o."createdAt", o."retryCount", o."lastError", o.ctid
  FROM outbox o
 WHERE o.ctid = ANY (ARRAY(SELECT ctid FROM candidates))
   AND )sql" + kPendingRowByAddress + R"sql(
 ORDER BY o."createdAt", o.id
 LIMIT $4::integer
   FOR UPDATE OF o SKIP LOCKED
)sql";
inline constexpr const char* kClaimSql = kClaimText.c_str();
inline constexpr int kClaimAddressColumn = 10;  // o.ctid, after event_from()'s columns
// clang-format on

}  // namespace tbpay::pg
