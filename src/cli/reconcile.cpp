// `tbpay reconcile`: asks ZaloPay and PayOS about stale PENDING payments and settles the ones
// they have settled. The JSON summary goes to stdout; logs, progress and errors to stderr.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "app/reconcile.h"
#include "cli/commands.h"
#include "context/context.h"

namespace tbpay::cli {

namespace {

// Exit codes as every command's (commands.h): provider trouble is counted in "errors", not a
// failure of the run; 1 is the database that could not be read.
struct ReconcileArgs {
  std::string older_than, younger_than, every;
  std::size_t limit = 10'000;
  bool dry_run = false;
};

std::optional<std::chrono::milliseconds> duration_arg(const std::string& option,
                                                      const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto d = parse_duration(text);
  if (!d)
    throw CLI::ValidationError(option,
                               "must be a duration such as 90s, 2m, 72h or 3d, got '" + text + "'");
  return d;
}

int reconcile(const ReconcileArgs& args) {
  ReconcileOptions options;
  auto older = duration_arg("--older-than", args.older_than);
  auto younger = duration_arg("--younger-than", args.younger_than);
  auto every = duration_arg("--every", args.every);

  auto ctx = job_context();
  options = ReconcileOptions::from(ctx->config.reconcile);
  if (older) options.older_than = *older;
  if (younger) options.younger_than = *younger;
  if (every) options.every = *every;
  options.limit = args.limit;
  options.dry_run = args.dry_run;
  if (options.younger_than <= options.older_than) {
    return fail("reconcile", "--younger-than must be longer than --older-than", kBadSetup);
  }

  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  Reconciler reconciler(*ctx);
  reconciler.on_progress([started](const ReconcileReport& r) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr,
                 "reconcile: %lld checked (%lld completed, %lld failed, %lld still pending, "
                 "%lld errors, %lld mismatches), %.0f payments/s\n",
                 static_cast<long long>(r.checked), static_cast<long long>(r.completed),
                 static_cast<long long>(r.failed), static_cast<long long>(r.still_pending),
                 static_cast<long long>(r.errors), static_cast<long long>(r.mismatches),
                 seconds > 0 ? static_cast<double>(r.checked) / seconds : 0.0);
  });
  const ReconcileReport report = reconciler.run(options);
  if (report.store_error) return fail("reconcile", *report.store_error);
  std::cout << to_json(report).dump() << std::endl;
  return 0;
}

}  // namespace

void add_reconcile(CLI::App& app, ExitCode& exit) {
  auto args = std::make_shared<ReconcileArgs>();
  auto* cmd = app.add_subcommand(
      "reconcile",
      "Ask ZaloPay and PayOS about PENDING payments created between two ages and settle the "
      "ones they have settled; prints {checked, completed, failed, still_pending, errors, "
      "mismatches}");
  cmd->add_option("--older-than", args->older_than,
                  "only payments at least this old (default RECONCILE_AFTER, or 2m)");
  cmd->add_option("--younger-than", args->younger_than,
                  "only payments at most this old (default RECONCILE_WITHIN, or 72h)");
  cmd->add_option("--limit", args->limit, "ask about at most this many payments, oldest first")
      ->default_val(10'000)
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--dry-run", args->dry_run, "ask and report, change nothing");
  cmd->add_option("--every", args->every,
                  "how often this command is scheduled: payments that aged out of the window "
                  "within the last DURATION are asked once more and, still PENDING, reported");
  cmd->callback([args, &exit] { exit.value = reconcile(*args); });
}

}  // namespace tbpay::cli
