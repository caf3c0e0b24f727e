#pragma once
// Each file in cli/ registers its subcommands; main.cpp only assembles them.
#include <CLI/CLI.hpp>

namespace tbpay::cli {

// Set by a subcommand's callback; main returns it.
struct ExitCode {
  int value = 0;
};

void add_migrate(CLI::App& app, ExitCode& exit);      // migrate.cpp
void add_serve(CLI::App& app, ExitCode& exit);        // serve.cpp
void add_payments(CLI::App& app, ExitCode& exit);     // payments.cpp
void add_sign(CLI::App& app, ExitCode& exit);         // sign.cpp
void add_outbox(CLI::App& app, ExitCode& exit);       // outbox.cpp: relay, cleanup, outbox ...
void add_lambda(CLI::App& app, ExitCode& exit);       // lambda.cpp
void add_doctor(CLI::App& app, ExitCode& exit);       // doctor.cpp

}  // namespace tbpay::cli
