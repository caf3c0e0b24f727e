// End to end: the zip that `make package` builds, unpacked into an empty folder, its
// `bootstrap` run with only what Lambda sets (plus the app's variables), against the loopback
// Runtime API and a real PostgreSQL, for each of the three handlers.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lambda/function_fixture.h"

namespace tbpay::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeRuntimeApi;
using testing::Posted;

fs::path package_zip() {
  const char* binary = std::getenv("TBPAY_BINARY");
  if (!binary) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
  return fs::path(binary).parent_path() / "lambda" / "tbpay.zip";
}

// The zip unpacked into a fresh, empty folder: LAMBDA_TASK_ROOT.
class UnpackedPackage {
 public:
  UnpackedPackage() {
    root_ = fs::temp_directory_path() / ("tbpay-task-" + uuid_v4());
    fs::create_directories(root_);
    const fs::path zip = package_zip();
    if (!fs::exists(zip)) throw std::runtime_error(zip.string() + " is missing (make package)");
    const std::string cmd = "unzip -q '" + zip.string() + "' -d '" + root_.string() + "'";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("unzip failed: " + cmd);
  }
  ~UnpackedPackage() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

// bootstrap as Lambda starts it: cwd = LAMBDA_TASK_ROOT, an environment built from scratch.
class BootstrapProcess {
 public:
  BootstrapProcess(const fs::path& task_root, const std::map<std::string, std::string>& env) {
    std::vector<std::string> entries;
    for (const auto& [k, v] : env) entries.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : entries) envp.push_back(e.data());
    envp.push_back(nullptr);
    log_path_ = task_root.parent_path() / (task_root.filename().string() + ".log");
    const std::string bootstrap = (task_root / "bootstrap").string();
    const std::string log = log_path_.string();
    started_ = std::chrono::steady_clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(task_root.c_str()) != 0) _exit(126);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      char* argv[] = {const_cast<char*>(bootstrap.c_str()), nullptr};
      execve(bootstrap.c_str(), argv, envp.data());
      _exit(127);
    }
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ~BootstrapProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove(log_path_, ec);
  }
  pid_t pid() const { return pid_; }
  std::chrono::steady_clock::time_point started() const { return started_; }

  // The exit status once the Runtime API went away (or the process was killed after `limit`).
  int wait_exit(std::chrono::seconds limit = 60s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        exited_ = true;
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  fs::path log_path_;
  std::chrono::steady_clock::time_point started_;
};

// What Lambda puts in a provided.al2023 function's environment, and the app's variables.
std::map<std::string, std::string> lambda_environment(const fs::path& task_root,
                                                      const std::string& runtime_api,
                                                      const std::string& handler,
                                                      const std::string& database_url) {
  return {
      {"AWS_LAMBDA_RUNTIME_API", runtime_api},
      {"_HANDLER", handler},
      {"LAMBDA_TASK_ROOT", task_root.string()},
      {"LAMBDA_RUNTIME_DIR", "/var/runtime"},
      {"AWS_REGION", "ap-southeast-1"},
      {"AWS_DEFAULT_REGION", "ap-southeast-1"},
      {"AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"},
      {"AWS_LAMBDA_FUNCTION_NAME", "ticketbottle-payment-" + handler + "-dev"},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"},
      {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
      {"AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ticketbottle-payment-" + handler + "-dev"},
      {"AWS_LAMBDA_LOG_STREAM_NAME", "2025/12/13/[$LATEST]0123456789abcdef"},
      {"LANG", "en_US.UTF-8"},
      {"TZ", ":UTC"},
      {"PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"},
      {"LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:" +
                              task_root.string() + ":" + task_root.string() + "/lib:/opt/lib"},
      {"APP_ENV", "dev"},
      {"LOG_LEVEL", "info"},
      {"DATABASE_URL", database_url},
      {"ZALOPAY_APP_ID", kZaloPayAppId},
      {"ZALOPAY_KEY1", kZaloPayKey1},
      {"ZALOPAY_KEY2", kZaloPayKey2},
      {"PAYOS_CLIENT_ID", "payos-client-1"},
      {"PAYOS_API_KEY", kPayOsApiKey},
      {"PAYOS_CHECKSUM_KEY", kPayOsChecksumKey},
  };
}

// Shared objects the running process has mapped (from /proc/PID/maps).
std::vector<std::string> mapped_libraries(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::vector<std::string> libs;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (path.find(".so") != std::string::npos &&
        std::find(libs.begin(), libs.end(), path) == libs.end())
      libs.push_back(path);
  }
  return libs;
}

json reply_of(const Posted& p) {
  EXPECT_EQ(p.kind, Posted::Response) << p.body;
  return json::parse(p.body);
}

// The DT_NEEDED entries of an ELF file, as readelf prints them: "... (NEEDED) ... [libpq.so.5]".
std::vector<std::string> needed_libraries(const fs::path& elf) {
  std::vector<std::string> names;
  const std::string cmd = "readelf -dW '" + elf.string() + "'";
  FILE* out = ::popen(cmd.c_str(), "r");
  if (!out) return names;
  char line[512];
  while (std::fgets(line, sizeof line, out)) {
    const std::string text(line);
    const auto open = text.find('[');
    const auto close = text.find(']', open);
    if (text.find("(NEEDED)") != std::string::npos && open != std::string::npos &&
        close != std::string::npos) {
      names.push_back(text.substr(open + 1, close - open - 1));
    }
  }
  ::pclose(out);
  return names;
}

TEST(LambdaPackage, ZipHasBootstrapAtTheRootTheBinaryTheLoaderAndItsLibraries) {
  UnpackedPackage pkg;
  EXPECT_TRUE(fs::exists(pkg.root() / "bootstrap"));
  EXPECT_TRUE((fs::status(pkg.root() / "bootstrap").permissions() & fs::perms::owner_exec) !=
              fs::perms::none);
  EXPECT_TRUE(fs::exists(pkg.root() / "bin" / "tbpay"));
  EXPECT_TRUE(fs::exists(pkg.root() / "lib" / "ld-linux-x86-64.so.2"));
  EXPECT_TRUE(fs::exists(pkg.root() / "lib" / "libc.so.6"));
  EXPECT_LT(fs::file_size(package_zip()), 15u * 1024 * 1024);
  // Every library the binary names (DT_NEEDED) is in lib/. With TBPAY_STATIC_DEPS (the
  // default) libpq, OpenSSL, SQLite and librdkafka are linked in, and the C++ runtime too
  // except in sanitizer builds, so they are not among them.
  const auto needed = needed_libraries(pkg.root() / "bin" / "tbpay");
  ASSERT_FALSE(needed.empty());
  for (const auto& name : needed) {
    EXPECT_TRUE(fs::exists(pkg.root() / "lib" / name)) << name << " is missing from lib/";
    if (TBPAY_STATIC_DEPS_LINKED) {
      EXPECT_EQ(name.find("libpq"), std::string::npos) << name;
      EXPECT_EQ(name.find("libssl"), std::string::npos) << name;
      EXPECT_EQ(name.find("sqlite"), std::string::npos) << name;
      EXPECT_EQ(name.find("rdkafka"), std::string::npos) << name;
    }
    if (TBPAY_STATIC_CXX_RUNTIME) {
      EXPECT_EQ(name.find("stdc++"), std::string::npos) << name;
    }
  }
}

TEST(LambdaPackage, WebhookHandlerRunsFromTheUnpackedZipOnItsOwnLibraries) {
  auto db = std::make_unique<PgTestDatabase>();
  db->migrate();
  insert_payment(*db, {.order_code = "TB-E2E-1",
                       .amount_cents = 150000,
                       .provider_transaction_id = zalopay_transaction_id("TB-E2E-1")});
  UnpackedPackage pkg;
  FakeRuntimeApi api;
  BootstrapProcess proc(pkg.root(),
                        lambda_environment(pkg.root(), api.address(), "webhook", db->url()));
  api.enqueue(http_v2_event("/webhook/zalopay",
                            zalopay_callback(zalopay_transaction_id("TB-E2E-1"), 150000))
                  .dump());
  auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u) << proc.output();
  const json reply = reply_of(posts[0]);
  EXPECT_EQ(reply["statusCode"], 200);
  EXPECT_EQ(json::parse(reply["body"].get<std::string>())["return_code"], 1);
  EXPECT_EQ(db->scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-E2E-1')"),
            "COMPLETED");

  // Every shared object in the process came from the package (the loader included).
  ASSERT_TRUE(api.wait_for_idle_poll());
  const auto libs = mapped_libraries(proc.pid());
  ASSERT_FALSE(libs.empty());
  for (const auto& lib : libs) {
    EXPECT_EQ(lib.rfind(pkg.root().string(), 0), 0u) << lib << " is not from the package";
  }

  api.close();
  EXPECT_NE(proc.wait_exit(), -1) << "bootstrap did not end when the Runtime API went away";
  const std::string out = proc.output();
  EXPECT_NE(out.find("\"_aws\""), std::string::npos) << "no EMF line in:\n" << out;
  EXPECT_EQ(out.find(kZaloPayKey2), std::string::npos) << "a key reached the logs";
}

TEST(LambdaPackage, OutboxProcessorPublishesThroughKafkaFromTheUnpackedZip) {
  auto db = std::make_unique<PgTestDatabase>();
  db->migrate();
  const std::string payment =
      insert_payment(*db, {.order_code = "TB-E2E-2", .status = "COMPLETED"});
  insert_event(*db, {.aggregate_id = payment, .created_at = now_utc() - 1min});
  UnpackedPackage pkg;
  FakeRuntimeApi api;
  auto env = lambda_environment(pkg.root(), api.address(), "outbox-processor", db->url());
  env["KAFKA_BROKERS"] = "embedded";  // librdkafka's in-process cluster, linked into the binary
  BootstrapProcess proc(pkg.root(), env);
  api.enqueue(scheduled_event());
  auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u) << proc.output();
  const json reply = reply_of(posts[0]);
  EXPECT_EQ(reply["statusCode"], 200);
  const json result = json::parse(reply["body"].get<std::string>());
  EXPECT_EQ(result["succeeded"], 1) << result.dump();
  EXPECT_EQ(db->count(R"(SELECT COUNT(*) FROM outbox WHERE published)"), 1);
}

TEST(LambdaPackage, OutboxCleanupRepliesWithItsReportFromTheUnpackedZip) {
  auto db = std::make_unique<PgTestDatabase>();
  db->migrate();
  const std::string payment =
      insert_payment(*db, {.order_code = "TB-E2E-3", .status = "COMPLETED"});
  insert_event(*db, {.aggregate_id = payment,
                     .created_at = now_utc() - 24h * 20,
                     .published = true,
                     .published_at = now_utc() - 24h * 20});
  UnpackedPackage pkg;
  FakeRuntimeApi api;
  BootstrapProcess proc(pkg.root(),
                        lambda_environment(pkg.root(), api.address(), "outbox-cleanup", db->url()));
  api.enqueue(scheduled_event());
  auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u) << proc.output();
  const json reply = reply_of(posts[0]);
  EXPECT_EQ(reply["statusCode"], 200);
  EXPECT_EQ(json::parse(reply["body"].get<std::string>())["deleted"], 1);
  EXPECT_EQ(db->count("SELECT COUNT(*) FROM outbox"), 0);
}

TEST(LambdaPackage, UnknownHandlerIsReportedAsAnInitErrorAndTheProcessExits) {
  UnpackedPackage pkg;
  FakeRuntimeApi api;
  BootstrapProcess proc(pkg.root(), lambda_environment(pkg.root(), api.address(), "index.handler",
                                                       "postgresql://x@127.0.0.1:1/x"));
  auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u) << proc.output();
  EXPECT_EQ(posts[0].kind, Posted::InitError);
  EXPECT_NE(proc.wait_exit(), 0);
  EXPECT_EQ(api.next_requests(), 0u);
}

TEST(LambdaPackage, UnreachableDatabaseAtStartIsNotFatal) {
  UnpackedPackage pkg;
  FakeRuntimeApi api;
  BootstrapProcess proc(
      pkg.root(), lambda_environment(pkg.root(), api.address(), "webhook",
                                     "postgresql://postgres@127.0.0.1:1/tbpay?connect_timeout=2"));
  api.enqueue(
      rest_v1_event("/webhook/zalopay", zalopay_callback(zalopay_transaction_id("TB-NODB"), 1000))
          .dump());
  auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u) << proc.output();
  const json reply = reply_of(posts[0]);
  EXPECT_EQ(json::parse(reply["body"].get<std::string>())["return_code"], 0);  // "try again"
}

TEST(LambdaCommand, RefusesToStartWithoutTheRuntimeApiAndListsItsHandlers) {
  const std::string binary = std::getenv("TBPAY_BINARY");
  const std::string out = (fs::temp_directory_path() / ("tbpay-cli-" + uuid_v4())).string();
  const int status =
      std::system(("env -i " + binary + " lambda --handler webhook >" + out + " 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("AWS_LAMBDA_RUNTIME_API"), std::string::npos) << text.str();

  ASSERT_EQ(std::system((binary + " lambda --list-handlers >" + out).c_str()), 0);
  std::ifstream listed(out);
  std::vector<std::string> names;
  for (std::string line; std::getline(listed, line);) names.push_back(line);
  EXPECT_EQ(names, (std::vector<std::string>{"webhook", "outbox-processor", "outbox-cleanup",
                                               "reconciler"}));
  fs::remove(out);
}

}  // namespace
}  // namespace tbpay::test
