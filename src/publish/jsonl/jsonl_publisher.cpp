#include "publish/jsonl/jsonl_publisher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <nlohmann/json.hpp>

namespace tbpay::jsonl {

namespace {

class File {
 public:
  explicit File(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool is_open() const { return fd_ >= 0; }
  bool write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool sync() { return ::fsync(fd_) == 0; }

 private:
  int fd_;
};

std::string system_error_text(const char* what, const std::filesystem::path& path) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

JsonLinesPublisher::JsonLinesPublisher(std::filesystem::path file) : file_(std::move(file)) {}

std::string JsonLinesPublisher::describe() const { return "file " + file_.string(); }

std::vector<DeliveryOutcome> JsonLinesPublisher::publish(std::span<const OutgoingMessage> messages,
                                                         std::chrono::milliseconds) {
  std::vector<DeliveryOutcome> outcomes(messages.size());
  std::string lines;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const OutgoingMessage& m = messages[i];
    outcomes[i].event_id = m.event_id;
    auto value = nlohmann::json::parse(m.value, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      outcomes[i].error = "payload is not valid JSON";
      continue;
    }
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, text] : m.headers) headers[name] = text;
    nlohmann::json line = {
        {"topic", m.topic}, {"key", m.key}, {"headers", headers}, {"value", value}};
    lines += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    lines += '\n';
    outcomes[i].delivered = true;  // provisional: confirmed below once the lines are on disk
  }

  std::string failure;
  {
    std::lock_guard lock(mutex_);
    std::error_code ec;
    if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path(), ec);
    File file(file_);
    if (ec)
      failure = "cannot create " + file_.parent_path().string() + ": " + ec.message();
    else if (!file.is_open())
      failure = system_error_text("cannot open", file_);
    else if (!file.write_all(lines))
      failure = system_error_text("cannot write", file_);
    else if (!file.sync())
      failure = system_error_text("cannot sync", file_);
  }
  if (!failure.empty()) {
    for (auto& o : outcomes) {
      if (!o.delivered) continue;
      o.delivered = false;
      o.error = failure;
    }
  }
  return outcomes;
}

}  // namespace tbpay::jsonl
