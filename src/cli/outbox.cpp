// `tbpay relay`, `tbpay cleanup` and `tbpay outbox stats|dead|requeue`: the outbox from the
// command line. Results are JSON on stdout; logs, progress and errors go to stderr.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/cleanup.h"
#include "app/relay.h"
#include "cli/commands.h"
#include "context/context.h"

namespace tbpay::cli {

namespace {

void print(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

nlohmann::json to_json(const OutboxEvent& e) {
  return {{"id", e.id},
          {"aggregateId", e.aggregate_id},
          {"aggregateType", e.aggregate_type},
          {"eventType", e.event_type},
          {"createdAt", to_iso8601(e.created_at)},
          {"retryCount", e.retry_count},
          {"lastError", e.last_error ? nlohmann::json(*e.last_error) : nlohmann::json(nullptr)}};
}

// What a run did before it stopped, for its error message.
std::string done_before(const RelayReport& r) {
  return "stopped after " + std::to_string(r.processed) + " processed (" +
         std::to_string(r.succeeded) + " published, " + std::to_string(r.failed) + " failed, " +
         std::to_string(r.dead) + " dead)";
}

int relay(double budget_seconds) {
  auto ctx = job_context();
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const auto deadline = budget_seconds > 0
                            ? started + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(budget_seconds))
                            : Clock::time_point::max();
  OutboxRelay relay(*ctx);
  relay.on_progress([started](const RelayReport& r) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr,
                 "relay: %lld processed (%lld published, %lld failed, %lld dead), %.0f events/s\n",
                 static_cast<long long>(r.processed), static_cast<long long>(r.succeeded),
                 static_cast<long long>(r.failed), static_cast<long long>(r.dead),
                 seconds > 0 ? static_cast<double>(r.processed) / seconds : 0.0);
  });
  RelayReport report;
  try {
    report = relay.drain(deadline);
  } catch (const std::exception& e) {  // the publisher could not be set up
    return fail("relay", e.what(), kBadSetup);
  }
  if (report.store_error)
    return fail("relay", store_error({ErrorKind::Unavailable, *report.store_error}, *ctx->db) +
                             "; " + done_before(report));
  print(to_json(report));
  return 0;
}

int cleanup() {
  auto ctx = job_context();
  const CleanupReport report = OutboxCleanup(*ctx).run(now_utc());
  if (report.store_error)
    return fail("cleanup", store_error({ErrorKind::Unavailable, *report.store_error}, *ctx->db) +
                               "; stopped after " + std::to_string(report.deleted) + " deleted");
  print(to_json(report));
  return 0;
}

int stats() {
  auto ctx = job_context();
  auto s = ctx->db->outbox().stats(now_utc(), ctx->config.outbox_max_retries);
  if (!s) return fail("outbox stats", store_error(s.error(), *ctx->db));
  print(to_json(*s));
  return 0;
}

int dead(std::size_t limit) {
  auto ctx = job_context();
  auto events = ctx->db->outbox().dead_events(ctx->config.outbox_max_retries, limit);
  if (!events) return fail("outbox dead", store_error(events.error(), *ctx->db));
  nlohmann::json list = nlohmann::json::array();
  for (const OutboxEvent& e : *events) list.push_back(to_json(e));
  print({{"dead", list}});
  return 0;
}

// The given ids, all or none: an id that is not a dead event (unknown, pending or published)
// is named and nothing is requeued. No ids: every dead event.
int requeue(const std::vector<std::string>& ids) {
  auto ctx = job_context();
  const int max_retries = ctx->config.outbox_max_retries;
  if (!ids.empty()) {
    auto dead = ctx->db->outbox().dead_events(max_retries, std::numeric_limits<int>::max());
    if (!dead) return fail("outbox requeue", store_error(dead.error(), *ctx->db));
    std::set<std::string> dead_ids;
    for (const OutboxEvent& e : *dead) dead_ids.insert(e.id);
    std::string missing;
    for (const std::string& id : std::set<std::string>(ids.begin(), ids.end()))
      if (!dead_ids.contains(id)) missing += (missing.empty() ? "" : ", ") + id;
    if (!missing.empty())
      return fail("outbox requeue",
                  "no dead event with id " + missing +
                      " (unknown, or pending or published: `tbpay outbox dead` lists the dead "
                      "ones); nothing requeued");
  }
  auto n = ctx->db->outbox().requeue(ids, max_retries);
  if (!n) return fail("outbox requeue", store_error(n.error(), *ctx->db));
  ctx->log.info(
      "dead outbox events requeued",
      {{"requeued", *n}, {"requested", ids.empty() ? "all" : std::to_string(ids.size())}});
  print({{"requeued", *n}});
  return 0;
}

}  // namespace

void add_outbox(CLI::App& app, ExitCode& exit) {
  auto budget = std::make_shared<double>(0);
  auto* relay_cmd = app.add_subcommand(
      "relay",
      "Publish pending outbox events to Kafka (or the JSON-lines file) in batches until "
      "none is left or the budget is spent; prints {processed, succeeded, failed, dead}");
  relay_cmd
      ->add_option("--budget", *budget,
                   "stop starting new batches after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  relay_cmd->callback([budget, &exit] { exit.value = relay(*budget); });

  app.add_subcommand(
         "cleanup",
         "Delete published events older than OUTBOX_RETENTION_DAYS in chunks and report "
         "dead events; prints {deleted, dead, stats}")
      ->callback([&exit] { exit.value = cleanup(); });

  auto* outbox =
      app.add_subcommand("outbox", "Inspect the outbox and give dead events a new chance");
  outbox->require_subcommand(1);
  outbox->add_subcommand("stats", "Counts: total, published, pending, dead; oldest pending age")
      ->callback([&exit] { exit.value = stats(); });

  auto limit = std::make_shared<std::size_t>(100);
  auto* dead_cmd = outbox->add_subcommand(
      "dead",
      "List dead events (failed OUTBOX_MAX_RETRIES times or unknown type) with their last error");
  dead_cmd->add_option("--limit", *limit, "at most this many, oldest first")->default_val(100);
  dead_cmd->callback([limit, &exit] { exit.value = dead(*limit); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto all_dead = std::make_shared<bool>(false);
  auto* requeue_cmd = outbox->add_subcommand(
      "requeue", "Set retryCount back to 0 on dead events so the relay tries them again");
  auto* ids_opt = requeue_cmd->add_option("ids", *ids, "outbox event ids");
  auto* all_opt = requeue_cmd->add_flag("--all-dead", *all_dead, "every dead event");
  ids_opt->excludes(all_opt);
  requeue_cmd->callback([ids, all_dead, &exit] {
    if (ids->empty() && !*all_dead)
      throw CLI::ValidationError("requeue", "give event ids or --all-dead");
    exit.value = requeue(*ids);
  });
}

}  // namespace tbpay::cli
