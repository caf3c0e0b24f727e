#include "reliability/support/pg.h"

#include <libpq-fe.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace tbpay::reliability {

namespace {

struct ConnFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};

std::string script() {
  const char* source = std::getenv("TBPAY_SOURCE_DIR");
  if (!source || !*source)
    throw std::runtime_error("TBPAY_SOURCE_DIR is not set (run through ctest)");
  return std::string(source) + "/scripts/pg-throwaway.sh";
}

// Runs the script and returns its stdout; throws when it fails.
std::string run_script(const std::string& command, const std::string& folder) {
  const std::string line = script() + " " + command + " '" + folder + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(line.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("cannot run " + line);
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  const int status = ::pclose(pipe.release());
  if (status != 0) throw std::runtime_error(line + " failed: " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::vector<SqlRow> pg_query(const std::string& url, std::string_view sql,
                             const std::vector<SqlValue>& params) {
  std::unique_ptr<PGconn, ConnFree> conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect: " + std::string(PQerrorMessage(conn.get())));
  const std::string text(sql);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  std::unique_ptr<PGresult, ResultFree> r(
      params.empty() ? PQexec(conn.get(), text.c_str())
                     : PQexecParams(conn.get(), text.c_str(), static_cast<int>(values.size()),
                                    nullptr, values.data(), nullptr, nullptr, 0));
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw std::runtime_error("SQL failed: " + std::string(PQresultErrorMessage(r.get())) +
                             " in: " + text);
  std::vector<SqlRow> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    SqlRow row;
    for (int c = 0; c < PQnfields(r.get()); ++c)
      row.push_back(PQgetisnull(r.get(), i, c) ? SqlValue() : SqlValue(PQgetvalue(r.get(), i, c)));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::int64_t pg_count(const std::string& url, std::string_view sql,
                      const std::vector<SqlValue>& params) {
  auto rows = pg_query(url, sql, params);
  if (rows.empty() || rows[0].empty() || !rows[0][0])
    throw std::runtime_error("no count from: " + std::string(sql));
  return std::stoll(*rows[0][0]);
}

std::string with_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?');
  const auto end = query == std::string::npos ? url.size() : query;
  if (path == std::string::npos || path > end)
    return url.substr(0, end) + "/" + database + url.substr(end);
  return url.substr(0, path + 1) + database + url.substr(end);
}

ThrowawayCluster::ThrowawayCluster() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tbpay-rel-pg-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  std::filesystem::permissions(
      folder_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                   std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                   std::filesystem::perms::others_exec);
  url_ = run_script("start", folder_);
}

ThrowawayCluster::~ThrowawayCluster() {
  try {
    run_script("stop", folder_);
  } catch (const std::exception&) {
  }
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
}

void ThrowawayCluster::stop() { run_script("stop", folder_); }
void ThrowawayCluster::restart() { run_script("restart", folder_); }
void ThrowawayCluster::freeze() { run_script("freeze", folder_); }
void ThrowawayCluster::thaw() { run_script("thaw", folder_); }

std::vector<SeededPayment> seed_payments(const std::string& url, const std::string& prefix,
                                         int count) {
  // Odd numbers ZaloPay, even numbers PayOS; amounts differ per payment so that a callback
  // signed for one cannot pass for another.
  const auto rows = pg_query(url, R"(
    INSERT INTO payments (id, "orderCode", "amountCents", currency, provider,
                          "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl",
                          status, "updatedAt")
    SELECT gen_random_uuid()::text, $1 || i, 100000 + i, 'VND'::"Currency",
           CASE WHEN i % 2 = 1 THEN 'ZALOPAY' ELSE 'PAYOS' END,
           CASE WHEN i % 2 = 1 THEN '251213_' || $1 || i ELSE md5($1 || i) END,
           'idem-' || $1 || i, 'https://tb.example/return', 'https://pay.example/' || i,
           'PENDING'::"PaymentStatus", now()
    FROM generate_series(1, $2::int) AS i
    RETURNING "orderCode", provider, "providerTransactionId", "amountCents")",
                             {prefix, std::to_string(count)});
  std::vector<SeededPayment> out;
  for (const auto& r : rows)
    out.push_back({*r[0], *r[1] == "ZALOPAY" ? Provider::ZaloPay : Provider::PayOS, *r[2],
                   std::stoll(*r[3])});
  return out;
}

}  // namespace tbpay::reliability
