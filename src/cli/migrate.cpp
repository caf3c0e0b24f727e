// `tbpay migrate [--lookup-index]`: the core service's schema on an empty database; nothing
// changes on a database that already has it (the core service's, in production).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "context/context.h"

namespace tbpay::cli {

namespace {

// The error, naming the database unless it already does.
std::string on_database(const Error& error, const Database& db) {
  const std::string where = db.describe();
  if (error.message.find(where) != std::string::npos) return error.message;
  return error.message + " (" + where + ")";
}

int migrate(bool lookup_index) {
  auto ctx = make_context_from_env();
  auto& schema = ctx->db->schema();
  auto report = schema.migrate();
  if (!report) {
    std::cerr << "tbpay migrate: " << on_database(report.error(), *ctx->db) << "\n";
    return 1;
  }
  std::cout << report->detail << "\n";
  if (lookup_index) {
    auto index = schema.create_lookup_index();
    if (!index) {
      std::cerr << "tbpay migrate: " << on_database(index.error(), *ctx->db) << "\n";
      return 1;
    }
    std::cout << index->detail << "\n";
  }
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
