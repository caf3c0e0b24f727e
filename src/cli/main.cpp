// tbpay: webhook ingestion, outbox relay and cleanup for TicketBottle payments.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "wiring/wiring.h"

namespace {

// The first word that names no command where one is expected ("tbpay bogus", "tbpay outbox
// bogus"), with the commands it could have been. CLI11 would only say that one is required.
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    auto commands = at->get_subcommands([](CLI::App*) { return true; });
    if (commands.empty() || word.starts_with("-")) return std::nullopt;
    CLI::App* next = nullptr;
    std::string names;
    for (CLI::App* c : commands) {
      if (c->check_name(word)) next = c;
      names += (names.empty() ? "" : ", ") + c->get_name();
    }
    if (!next) {
      const std::string where = at == &app ? "tbpay" : "tbpay " + at->get_name();
      return "unknown command '" + word + "' (" + where + " commands: " + names + ")";
    }
    at = next;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tbpay: payment webhooks, outbox relay and cleanup for TicketBottle", "tbpay"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tbpay 0.1.0");
  tbpay::cli::ExitCode exit;
  tbpay::cli::add_migrate(app, exit);
  tbpay::cli::add_serve(app, exit);
  tbpay::cli::add_payments(app, exit);
  tbpay::cli::add_sign(app, exit);
  tbpay::cli::add_outbox(app, exit);
  tbpay::cli::add_lambda(app, exit);
  tbpay::cli::add_reconcile(app, exit);
  tbpay::cli::add_doctor(app, exit);
  if (auto unknown = unknown_command(app, argc, argv)) {
    std::fprintf(stderr, "tbpay: %s\n", unknown->c_str());
    return tbpay::cli::kBadSetup;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error is bad setup, like a bad variable.
    return app.exit(e) == 0 ? 0 : tbpay::cli::kBadSetup;
  } catch (const tbpay::StartupError& e) {
    std::fprintf(stderr, "tbpay: %s\n", e.what());
    return tbpay::cli::kBadSetup;
  }
  return exit.value;
}
