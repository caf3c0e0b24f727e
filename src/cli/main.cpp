// tbpay: webhook ingestion, outbox relay and cleanup for TicketBottle payments.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "context/context.h"

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
  tbpay::cli::add_doctor(app, exit);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tbpay::StartupError& e) {
    std::fprintf(stderr, "tbpay: %s\n", e.what());
    return 2;
  }
  return exit.value;
}
