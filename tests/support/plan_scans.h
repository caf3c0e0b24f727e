#pragma once
// The scans of one table in an EXPLAIN (ANALYZE, FORMAT JSON) plan, for tests that ask
// PostgreSQL how much of a table a statement read.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tbpay::test {

struct Scan {
  std::string node;
  std::string index;
  long long read = 0;  // rows returned + rows removed by a filter, over all loops
};

// Every scan of `table` (or of an index named `<table>_...`) that ran: a branch cut by its
// one-time filter shows no loops and is left out.
inline void collect_scans(const nlohmann::json& plan, std::string_view table,
                          std::vector<Scan>& out) {
  const long long loops = plan.value("Actual Loops", 0LL);
  const std::string index = plan.value("Index Name", "");
  const bool on_table = plan.value("Relation Name", "") == table ||
                        (index.size() > table.size() && index.starts_with(table) &&
                         index[table.size()] == '_');
  if (on_table && loops > 0) {
    out.push_back({plan.value("Node Type", ""), index,
                   (plan.value("Actual Rows", 0LL) + plan.value("Rows Removed by Filter", 0LL) +
                    plan.value("Rows Removed by Index Recheck", 0LL)) *
                       loops});
  }
  if (plan.contains("Plans"))
    for (const auto& child : plan["Plans"]) collect_scans(child, table, out);
}

}  // namespace tbpay::test
