#pragma once
// Each file in cli/ registers its subcommands; main.cpp only assembles them.
//
// One rule for every command: its result, and nothing else, goes to stdout; a failure prints
// "tbpay <command>: <message>" on stderr, nothing on stdout, and exits non-zero. Logs (JSON
// lines) of the command-line jobs go to stderr; `serve` and `lambda` have no result and log to
// stdout, where CloudWatch and container runtimes read them.
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "wiring/wiring.h"

namespace tbpay::cli {

// Set by a subcommand's callback; main returns it.
struct ExitCode {
  int value = 0;
};

// Exit codes: 0 done; 1 the work failed (database unreachable or refusing, no such payment or
// event); 2 bad arguments or configuration.
constexpr int kFailed = 1;
constexpr int kBadSetup = 2;

// Prints "tbpay <command>: <message>" on stderr; returns `code` for the caller to exit with.
int fail(std::string_view command, std::string_view message, int code = kFailed);

// The context of a command-line job: configuration from the environment (StartupError on a
// bad value), logs on stderr.
std::unique_ptr<Context> job_context();

// An amount in VND: a whole number, 1 or more ("--amount: must be a whole number of VND, 1 or
// more, got 'abc'").
CLI::Validator vnd_amount();

// A store error as a user reads it: naming the database, and saying what to do when its
// tables are missing.
std::string store_error(const Error& error, const Database& db);

void add_migrate(CLI::App& app, ExitCode& exit);      // migrate.cpp
void add_serve(CLI::App& app, ExitCode& exit);        // serve.cpp
void add_payments(CLI::App& app, ExitCode& exit);     // payments.cpp
void add_sign(CLI::App& app, ExitCode& exit);         // sign.cpp
void add_outbox(CLI::App& app, ExitCode& exit);       // outbox.cpp: relay, cleanup, outbox ...
void add_lambda(CLI::App& app, ExitCode& exit);       // lambda.cpp
void add_reconcile(CLI::App& app, ExitCode& exit);    // reconcile.cpp
void add_doctor(CLI::App& app, ExitCode& exit);       // doctor.cpp

}  // namespace tbpay::cli
