#include "store/open.h"

#include "store/postgres/postgres.h"
#include "store/sqlite/sqlite.h"

namespace tbpay {

std::unique_ptr<Database> open_database(const Config& config) {
  if (config.uses_postgres()) return open_postgres(config.database_url);
  return open_sqlite(config.sqlite_path());
}

}  // namespace tbpay
