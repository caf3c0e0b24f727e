// `tbpay lambda`: the AWS Lambda runtime (what the package's bootstrap execs).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "lambda/functions.h"

namespace tbpay::cli {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void add_lambda(CLI::App& app, ExitCode& exit) {
  auto* cmd = app.add_subcommand(
      "lambda", "Run as an AWS Lambda function on the Runtime API (AWS_LAMBDA_RUNTIME_API)");
  auto handler = std::make_shared<std::string>();
  auto list = std::make_shared<bool>(false);
  cmd->add_option("--handler", *handler,
                  "webhook, outbox-processor or outbox-cleanup (default: env _HANDLER)");
  cmd->add_flag("--list-handlers", *list, "Print the handler names this binary accepts and exit");
  cmd->callback([handler, list, &exit] {
    if (*list) {
      for (auto name : lambda::handler_names())
        std::printf("%.*s\n", static_cast<int>(name.size()), name.data());
      exit.value = 0;
      return;
    }
    const std::string name = handler->empty() ? env_or_empty("_HANDLER") : *handler;
    const std::string api = env_or_empty("AWS_LAMBDA_RUNTIME_API");
    // Without a Runtime API to report it to, a bad handler is said here, before the missing
    // API; with one, run_function also reports it to Lambda (/init/error).
    if (api.empty() && !lambda::function_for_handler(name)) {
      std::string names;
      for (auto n : lambda::handler_names()) names += (names.empty() ? "" : ", ") + std::string(n);
      exit.value = fail("lambda",
                        (name.empty() ? std::string("no handler: pass --handler or set _HANDLER")
                                      : "unknown handler '" + name + "'") +
                            " (one of " + names + ")",
                        kBadSetup);
      return;
    }
    if (api.empty()) {
      exit.value = fail("lambda",
                        "AWS_LAMBDA_RUNTIME_API is not set (Lambda sets it; for a local run "
                        "point it at a Runtime API emulator)",
                        kBadSetup);
      return;
    }
    exit.value = lambda::run_function(name, api);
  });
}

}  // namespace tbpay::cli
