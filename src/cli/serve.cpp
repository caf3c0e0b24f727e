// `tbpay serve`: the long-running server (containers, EKS, local development).
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

#include "app/background.h"
#include "app/lookup_index.h"
#include "app/serve_metrics.h"
#include "app/webhook.h"
#include "cli/commands.h"
#include "config/database_url.h"
#include "http/server.h"
#include "observability/metrics.h"
#include "wiring/wiring.h"

namespace tbpay::cli {

namespace {

// Twice the cores, 4 to 16. Callbacks go to the database by group (group commit), at most
// --committers groups at once, each on one of these threads; the others serve /readyz. A
// callback that must wait alone for its row lock waits on its committer's thread once the rest
// of its group is answered, while the other committers go on. A database further away (a
// millisecond across a network) wants more committers and threads.
int default_threads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(2 * cores, 4, 16);
}

struct ServeOptions {
  std::string listen;          // empty: LISTEN_ADDR or its default
  std::string metrics_listen;  // empty: /metrics on the main listener
  int threads = default_threads();
  int group_size = http::ServerOptions{}.group_size;
  int committers = http::ServerOptions{}.committers;
};

// Runs `act` every `period` until asked to stop, then once more.
void every(std::stop_token stop, std::chrono::milliseconds period,
           const std::function<void()>& act) {
  while (pause(stop, period)) act();
  act();
}

// The aggregated metrics are written once a minute; info lines (one per callback) wait in
// stdout's buffer for at most 200 ms.
constexpr auto kMetricsFlushEvery = std::chrono::minutes(1);
constexpr auto kLogFlushEvery = std::chrono::milliseconds(200);

int serve(const ServeOptions& opts) {
  auto ctx = make_context_from_env();
  http::ServerOptions server_options;
  server_options.listen = opts.listen.empty() ? ctx->config.listen_addr : opts.listen;
  server_options.threads = opts.threads;
  server_options.group_size = opts.group_size;
  server_options.committers = std::min(opts.committers, opts.threads);
  // A callback waits for its turn no longer than it may wait for its payment's row lock.
  if (auto db = pg::parse_database_url(ctx->config.database_url))
    server_options.queue_wait = db->lock_timeout;
  server_options.stop_on_signals = true;

  alert_if_payos_lookup_unindexed(*ctx);
  Metrics metrics("serve");
  ServeMetrics exposed(*ctx->db);
  WebhookIngestion ingestion(*ctx, metrics, &exposed);
  // GET /metrics: on the main listener, or only on --metrics-listen when given.
  const auto render = [&exposed] { return exposed.render(); };
  http::ServerOptions metrics_options;
  if (opts.metrics_listen.empty()) {
    server_options.metrics = render;
  } else {
    metrics_options.listen = opts.metrics_listen;
    metrics_options.threads = 1;
    metrics_options.metrics = render;
    metrics_options.webhooks = false;
  }
  std::unique_ptr<http::Server> server, metrics_server;
  try {
    server = std::make_unique<http::Server>(ingestion, ctx->log, server_options);
    if (!opts.metrics_listen.empty())
      metrics_server = std::make_unique<http::Server>(ingestion, ctx->log, metrics_options);
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }
  ctx->log.info("listening", {{"address", server->address()},
                              {"metrics_address",
                               metrics_server ? metrics_server->address() : server->address()},
                              {"database", ctx->db->describe()},
                              {"zalopay", ctx->zalopay->configured()},
                              {"payos", ctx->payos->configured()},
                              {"threads", server_options.threads},
                              {"group_size", server_options.group_size},
                              {"committers", server_options.committers}});
  std::jthread metrics_listener;
  if (metrics_server) metrics_listener = std::jthread([&] { metrics_server->run(); });

  // Background work runs beside the server and stops once it has shut down. Each task takes
  // the stop token and returns soon after stop is requested.
  std::stop_source background;
  std::jthread metrics_flush(every, background.get_token(), kMetricsFlushEvery,
                             [&metrics] { metrics.flush(); });
  // A line per callback written straight out is a system call per callback, taken under the
  // sink's lock; warnings and errors still go out at once, with every line before them.
  ctx->log.buffer_lines_below(LogLevel::Warn);
  std::jthread log_flush(every, background.get_token(), kLogFlushEvery,
                         [&log = ctx->log] { log.flush(); });
  // The outbox relay, continuously, and the daily cleanup (app/background.h).
  OutboxBackground outbox(*ctx, metrics, exposed);

  server->run();
  if (metrics_server) metrics_server->stop();
  if (metrics_listener.joinable()) metrics_listener.join();
  outbox.stop();
  background.request_stop();
  metrics_flush.join();
  log_flush.join();
  ctx->log.info("stopped");
  ctx->log.flush();
  return 0;
}

}  // namespace

void add_serve(CLI::App& app, ExitCode& exit) {
  auto opts = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "HTTP server: POST /webhook/{zalopay,payos}, /webhook, GET /healthz, /readyz, /metrics");
  cmd->add_option("--listen", opts->listen,
                  "HOST:PORT to listen on; port 0 picks a free one (env LISTEN_ADDR, default "
                  "127.0.0.1:8080)");
  cmd->add_option("--metrics-listen", opts->metrics_listen,
                  "HOST:PORT for GET /metrics (Prometheus) alone, off the webhook listener "
                  "(default: /metrics on --listen)");
  cmd->add_option("--threads", opts->threads,
                  "worker threads for database calls, one call at a time each; sockets have "
                  "their own (default: twice the cores, 4 to 16; the database pool holds 16)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--group-size", opts->group_size,
                  "group commit: at most this many callbacks waiting at the same moment are "
                  "committed in one transaction; 1 commits each alone (default 64)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--committers", opts->committers,
                  "group commit: groups committed at once, each on a worker thread (default 2, "
                  "at most --threads)")
      ->check(CLI::Range(1, 256));
  cmd->callback([opts, &exit] { exit.value = serve(*opts); });
}

}  // namespace tbpay::cli
