// `tbpay migrate [--lookup-index]`: the core service's schema on an empty database; nothing
// changes on a database that already has it (the core service's, in production).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "context/context.h"

namespace tbpay::cli {

namespace {

int migrate(bool lookup_index) {
  auto ctx = job_context();
  auto& schema = ctx->db->schema();
  auto report = schema.migrate();
  if (!report) return fail("migrate", store_error(report.error(), *ctx->db));
  std::string done = report->detail + "\n";
  if (lookup_index) {
    auto index = schema.create_lookup_index();
    if (!index)  // stdout stays empty on failure: what was done goes with the error
      return fail("migrate", report->detail + "; then the lookup index failed: " +
                                 store_error(index.error(), *ctx->db));
    done += index->detail + "\n";
  }
  std::cout << done;
  return 0;
}

}  // namespace

void add_migrate(CLI::App& app, ExitCode& exit) {
  auto lookup_index = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "migrate",
      "Create the payments and outbox tables on an empty database; a database that "
      "already has them is left unchanged");
  cmd->add_flag("--lookup-index", *lookup_index,
                "Also create payments_provider_providerTransactionId_idx on (provider, "
                "\"providerTransactionId\"), the webhook's lookup key, if it does not exist. Not "
                "part of the core service's schema: recommended to it (PostgreSQL builds it "
                "CONCURRENTLY, without blocking writes)");
  cmd->callback([lookup_index, &exit] { exit.value = migrate(*lookup_index); });
}

}  // namespace tbpay::cli
